using System.Text;
using VmPs.Guest.Native;
using VmPs.Guest.Network;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>
/// The guest's identity: hostname, /etc/machine-id and the kernel RNG's seed, set at boot from the config disk and
/// again by the host's IdentityApply after a restore or fork (whose memory is another boot's).
/// </summary>
internal static class GuestIdentity
{
    private const string MachineIdPath = "/etc/machine-id";
    private const int MaxHostnameBytes = 64;
    private const int MinEntropyBytes = 32;
    private const int MaxEntropyBytes = 512;

    // 0444, as systemd-machine-id-setup leaves it.
    private const int ReadableByAll = 0x124;

    public static async Task ApplyAsync(Frame frame, FrameWriter writer, AgentContext context, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.IdentityApplyMessage);
        if (!context.OwnsMachine)
        {
            throw new GuestException(ErrorCodes.Unsupported, "An agent running outside a VM does not change the identity of the machine it runs on.");
        }

        var entropy = ParseEntropy(request.Entropy);
        ValidateMachineId(request.MachineId);
        ReseedRandom(entropy);
        SetHostname(request.Hostname);
        WriteMachineId(request.MachineId);
        var interfaceName = request.Network is null ? null : GuestNetwork.Reassign(request.Network, request.PreviousMacAddress, request.Hostname);
        await writer.WriteJsonAsync(
            FrameType.IdentityApplied,
            frame.Channel,
            new IdentityAppliedMessage(interfaceName),
            ProtocolJsonContext.Default.IdentityAppliedMessage,
            cancellationToken).ConfigureAwait(false);
    }

    public static unsafe void SetHostname(string hostname)
    {
        var bytes = Encoding.UTF8.GetBytes(hostname);
        if (bytes.Length is 0 or > MaxHostnameBytes || hostname.Any(c => c <= ' ' || c > '~' || c == '/'))
        {
            throw new GuestException(ErrorCodes.BadRequest, $"'{hostname}' is not a hostname: 1 to {MaxHostnameBytes} printable ASCII characters.");
        }

        fixed (byte* name = bytes)
        {
            if (Libc.sethostname(name, bytes.Length) < 0)
            {
                throw new GuestException(ErrorCodes.ExecFailed, $"Setting the hostname {hostname} failed: {Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}.");
            }
        }
    }

    /// <summary>Replaces /etc/machine-id (by rename, so a reader never sees half of it); systemd reads it at boot.</summary>
    public static void WriteMachineId(string machineId)
    {
        ValidateMachineId(machineId);
        var staging = MachineIdPath + ".vmps-new";
        File.WriteAllText(staging, machineId + "\n");
        if (Libc.chmod(staging, ReadableByAll) < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"chmod {staging} failed: {Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}.");
        }

        File.Move(staging, MachineIdPath, overwrite: true);
    }

    private static void ValidateMachineId(string machineId)
    {
        if (machineId.Length != 32 || !machineId.All(char.IsAsciiHexDigitLower) || machineId.All(c => c == '0'))
        {
            throw new GuestException(ErrorCodes.BadRequest, $"'{machineId}' is not a machine-id: 32 lowercase hexadecimal digits, not all zero.");
        }
    }

    private static byte[] ParseEntropy(string text)
    {
        var buffer = new byte[MaxEntropyBytes];
        if (!Convert.TryFromBase64String(text, buffer, out var length) || length < MinEntropyBytes)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"The entropy must be {MinEntropyBytes} to {MaxEntropyBytes} bytes in base64.");
        }

        return buffer[..length];
    }

    private static unsafe void ReseedRandom(byte[] entropy)
    {
        fixed (byte* bytes = entropy)
        {
            var result = NativeMethods.ReseedRandom(bytes, entropy.Length);
            if (result < 0)
            {
                throw new GuestException(ErrorCodes.ExecFailed, $"Reseeding the kernel's random number generator failed: {Libc.ErrorText(-result)}.");
            }
        }
    }
}
