using System.Runtime.InteropServices;

namespace VmPs.Guest.Init;

/// <summary>The libc calls only the init's app console and systemd hand-over make.</summary>
internal static unsafe partial class InitLibc
{
    public const int O_WRONLY = 1;
    public const int O_NOCTTY = 0x100;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>c_oflag's "post-process output" bit: without it a tty writes bytes as they are (no \n -> \r\n).</summary>
    public const uint OPOST = 1;
    public const int TCSANOW = 0;

    /// <summary>sizeof(struct termios) on x86_64 Linux; c_oflag is the second uint.</summary>
    public const int TermiosSize = 60;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chmod(string path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcsetattr(int fd, int when, byte* termios);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execv(string path, byte** argv);
}
