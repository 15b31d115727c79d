using System.Net.Sockets;
using System.Text;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// The sockets QEMU serves for one VM, inside the VM directory (Migration: the saved state's stream, while it is written
/// or read; Console: the serial console, for Enter-Vm -Console).
/// </summary>
internal sealed record QemuSockets(string Qmp, string Agent, string Migration, string Console)
{
    // sun_path is 108 bytes including the terminating NUL.
    private const int MaxSocketPathBytes = 107;

    public static QemuSockets For(string vmDirectory)
    {
        var sockets = new QemuSockets(
            Path.Combine(vmDirectory, "qmp.sock"),
            Path.Combine(vmDirectory, "agent.sock"),
            Path.Combine(vmDirectory, "state.sock"),
            Path.Combine(vmDirectory, "console.sock"));
        foreach (var path in sockets.All)
        {
            if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes)
            {
                throw new VmPsException(
                    VmPsErrorIds.SocketPathTooLong,
                    VmPsErrorKind.InvalidArgument,
                    $"The socket path '{path}' is longer than the {MaxSocketPathBytes} bytes a Unix socket address allows.",
                    path)
                {
                    RecommendedAction = "Use a shorter state directory ($env:VMPS_HOME).",
                };
            }
        }

        return sockets;
    }

    /// <summary>True when a process still serves the QMP socket (a stale socket file refuses connections).</summary>
    public bool QmpIsServed()
    {
        if (!File.Exists(Qmp))
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(Qmp));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void DeleteStale()
    {
        foreach (var path in All)
        {
            File.Delete(path);
        }
    }

    private IEnumerable<string> All => [Qmp, Agent, Migration, Console];
}
