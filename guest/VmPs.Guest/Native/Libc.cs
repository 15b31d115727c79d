using System.Runtime.InteropServices;

namespace VmPs.Guest.Native;

/// <summary>The libc calls the guest makes directly (bound at link time: the binary is static).</summary>
internal static unsafe partial class Libc
{
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int ECHILD = 10;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_MOVE = 8192;

    /// <summary>umount2: detach the mount now, release the filesystem when its last user is gone.</summary>
    public const int MNT_DETACH = 2;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_NOCTTY = 0x100;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    public const short POLLIN = 1;

    public const int F_DUPFD_CLOEXEC = 1030;

    public const int PRIO_PROCESS = 0;

    /// <summary>c_oflag's "post-process output" bit: without it a tty writes bytes as they are (no \n -> \r\n).</summary>
    public const uint OPOST = 1;
    public const int TCSANOW = 0;

    /// <summary>sizeof(struct termios) on x86_64 Linux; c_oflag is the second uint.</summary>
    public const int TermiosSize = 60;

    public const int RB_POWER_OFF = 0x4321FEDC;
    public const int RB_AUTOBOOT = 0x01234567;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string? source, string target, string? fileSystemType, ulong flags, string? data);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int reboot(int command);

    [LibraryImport("libc")]
    public static partial void sync();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chroot(string path);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chdir(string path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sethostname(byte* name, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    /// <summary>With PRIO_PROCESS and who 0, Linux changes the nice value of the calling thread only.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int setpriority(int which, uint who, int prio);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, nint argument);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chmod(string path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcsetattr(int fd, int when, byte* termios);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execv(string path, byte** argv);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    public static string ErrorText(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
