using System.Runtime.InteropServices;

namespace VmPs.Core.Native;

/// <summary>
/// The libc calls Core makes directly, where .NET has no managed equivalent (spawning detached
/// processes, flock, TAP and netlink sockets, setns, the local terminal). Every P/Invoke in Core
/// is declared here, source-generated with LibraryImport; the callers keep their constants.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    // Files and directories.

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int stat(string path, byte* buffer);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fstat(int fd, byte[] buffer);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lstat(string path, byte[] buffer);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chmod(string path, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkfifo(string path, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rename(string oldPath, string newPath);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat2(int olddirfd, string oldPath, int newdirfd, string newPath, uint flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, byte[] argument);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, nint argument);

    // Processes.

    [LibraryImport(Library)]
    public static partial uint geteuid();

    [LibraryImport(Library, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport(Library)]
    public static partial long sysconf(int name);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int waitpid(int pid, nint status, int options);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn(int* pid, string path, nint fileActions, nint attributes, nint argv, nint envp);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_init(nint fileActions);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_destroy(nint fileActions);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn_file_actions_addopen(nint fileActions, int fd, string path, int flags, int mode);

    [LibraryImport(Library)]
    public static partial int posix_spawn_file_actions_adddup2(nint fileActions, int fd, int newFd);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn_file_actions_addchdir_np(nint fileActions, string path);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_init(nint attributes);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_destroy(nint attributes);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setflags(nint attributes, short flags);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setsigmask(nint attributes, nint signalSet);

    [LibraryImport(Library)]
    public static partial int posix_spawnattr_setsigdefault(nint attributes, nint signalSet);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int sigemptyset(nint signalSet);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int sigfillset(nint signalSet);

    // Sockets and namespaces.

    [LibraryImport(Library, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint send(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint recv(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    // The local terminal (Enter-Vm, SSH gateway sessions) and its input pump's poll() beside a wake-up pipe.

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
}
