using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace VmPs.Protocol.Native;

/// <summary>
/// The libc calls of the code host and guest share (the confined *at() file operations of file copies and image
/// extraction). Every P/Invoke of VmPs.Protocol is declared here, source-generated with LibraryImport; the callers
/// keep their constants.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpecPair
    {
        public long AccessSeconds;
        public long AccessNanoseconds;
        public long ModifySeconds;
        public long ModifyNanoseconds;
    }

    // openat2 has no libc wrapper: syscall(2), whose fixed leading arguments are passed as for any call.
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial long syscall(long number, SafeFileHandle directory, string path, OpenHow* how, nuint size);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(SafeFileHandle directory, string path, int flags, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(SafeFileHandle directory, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlinkat(SafeFileHandle directory, string path, byte[] buffer, nuint size);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdirat(SafeFileHandle directory, string path, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlinkat(string target, SafeFileHandle directory, string path);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat(SafeFileHandle fromDirectory, string fromPath, SafeFileHandle toDirectory, string toPath);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(SafeFileHandle directory, string path, int flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchownat(SafeFileHandle directory, string path, int uid, int gid, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int fchmod(SafeFileHandle entry, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(SafeFileHandle directory, string path, in TimeSpecPair times, int flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(SafeFileHandle targetDirectory, string targetPath, SafeFileHandle directory, string path, int flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknodat(SafeFileHandle directory, string path, uint mode, ulong device);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chmod(string path, uint mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte[] value, nuint size, int flags);
}
