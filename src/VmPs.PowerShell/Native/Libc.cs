using System.Runtime.InteropServices;

namespace VmPs.PowerShell.Native;

/// <summary>
/// The libc calls the module makes directly: the local terminal (termios, window size) and the input pump's
/// poll() beside a wake-up pipe. Every P/Invoke of the module is declared here, source-generated with
/// LibraryImport; the callers keep their constants.
/// </summary>
internal static partial class Libc
{
    private const string Library = "libc";

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport(Library, SetLastError = true)]
    public static partial int isatty(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, [Out] ushort[] argument);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int tcsetattr(int fd, int when, byte[] termios);

    [LibraryImport(Library)]
    public static partial void cfmakeraw([In, Out] byte[] termios);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int pipe([Out] int[] fds);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int poll([In, Out] PollFd[] fds, nuint count, int timeout);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint read(int fd, [Out] byte[] buffer, nint count);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint write(int fd, byte[] buffer, nint count);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);
}
