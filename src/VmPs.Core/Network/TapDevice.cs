using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Network;

/// <summary>
/// Persistent TAP devices through /dev/net/tun: TUNSETIFF creates the device in the calling
/// thread's network namespace, TUNSETPERSIST keeps it after our descriptor closes, so the
/// hypervisor attaches to it by name. Single queue, no packet information header.
/// </summary>
internal static class TapDevice
{
    private const string CloneDevice = "/dev/net/tun";
    private const int OpenReadWrite = 0x2;
    private const int OpenCloseOnExec = 0x80000;
    private const ulong SetInterface = 0x400454ca;
    private const ulong SetPersistent = 0x400454cb;
    private const short FlagTap = 0x0002;
    private const short FlagNoPacketInformation = 0x1000;
    private const int InterfaceRequestLength = 40;
    private const int InterfaceNameLength = 16;

    /// <summary>Creates the persistent TAP (or attaches to an existing one of that name, which is harmless).</summary>
    public static void CreatePersistent(string name)
    {
        var descriptor = Libc.open(CloneDevice, OpenReadWrite | OpenCloseOnExec, 0);
        if (descriptor < 0)
        {
            throw Failure(name, "open " + CloneDevice);
        }

        try
        {
            var request = new byte[InterfaceRequestLength];
            var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
            if (nameBytes.Length >= InterfaceNameLength)
            {
                throw new ArgumentException($"'{name}' is longer than an interface name can be.", nameof(name));
            }

            nameBytes.CopyTo(request, 0);
            BitConverter.TryWriteBytes(request.AsSpan(InterfaceNameLength), (short)(FlagTap | FlagNoPacketInformation));
            if (Libc.ioctl(descriptor, SetInterface, request) < 0)
            {
                throw Failure(name, "TUNSETIFF");
            }

            if (Libc.ioctl(descriptor, SetPersistent, 1) < 0)
            {
                throw Failure(name, "TUNSETPERSIST");
            }
        }
        finally
        {
            _ = Libc.close(descriptor);
        }
    }

    private static VmPsException Failure(string name, string step)
    {
        var error = Marshal.GetLastPInvokeError();
        return new VmPsException(
            VmPsErrorIds.TapCreationFailed,
            error == 1 ? VmPsErrorKind.PermissionDenied : VmPsErrorKind.ResourceUnavailable,
            $"Cannot create the TAP device '{name}' ({step}): {Marshal.GetPInvokeErrorMessage(error)}.",
            name)
        {
            RecommendedAction = "VM networking needs root (CAP_NET_ADMIN) and /dev/net/tun (modprobe tun).",
        };
    }
}
