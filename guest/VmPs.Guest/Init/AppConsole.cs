using System.Diagnostics;
using System.Runtime.InteropServices;
using VmPs.Guest.Native;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>
/// The App log: the hypervisor's virtio console (QEMU virtconsole, Cloud Hypervisor --console), which the
/// guest sees as the tty /dev/hvc0 and the host writes to app.log. The entrypoint's stdout and stderr go
/// there, apart from the kernel console.
/// </summary>
internal static unsafe class AppConsole
{
    private const string Device = "/dev/hvc0";

    /// <summary>The virtio_console driver is loaded by then; devtmpfs creates the node shortly after the port is probed.</summary>
    private static readonly TimeSpan AppearTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Opens the app console for writing, raw (the app's bytes reach app.log unchanged), or returns the kernel
    /// console's fd 1 with a warning when the VM has no virtio console.
    /// </summary>
    public static int Open()
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Device))
        {
            if (clock.Elapsed > AppearTimeout)
            {
                InitLog.Warning(InitLogPhases.Entrypoint, $"no app console ({Device}); the app's output goes to the kernel console");
                return 1;
            }

            Thread.Sleep(2);
        }

        // O_NOCTTY: PID 1 has no controlling terminal and must not get this one (a hangup would signal it).
        var fd = Libc.open(Device, Libc.O_WRONLY | Libc.O_NOCTTY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            InitLog.Warning(InitLogPhases.Entrypoint, $"cannot open {Device}; the app's output goes to the kernel console", Libc.ErrorText(Marshal.GetLastPInvokeError()));
            return 1;
        }

        DisableOutputProcessing(fd);
        return fd;
    }

    private static void DisableOutputProcessing(int fd)
    {
        var termios = stackalloc byte[Libc.TermiosSize];
        if (Libc.tcgetattr(fd, termios) == 0)
        {
            ((uint*)termios)[1] &= ~Libc.OPOST;
            Libc.tcsetattr(fd, Libc.TCSANOW, termios);
        }
    }
}
