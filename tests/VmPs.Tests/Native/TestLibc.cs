using System.Runtime.InteropServices;

namespace VmPs.Tests.Native;

/// <summary>
/// The libc calls only tests make, source-generated with LibraryImport; tests use the src assemblies' own
/// <c>Native.Libc</c> (Core's, Protocol's) for every call those declare already.
/// </summary>
internal static partial class TestLibc
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint lgetxattr(string path, string name, byte[] value, nuint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr realpath(string path, IntPtr resolved);

    [LibraryImport("libc")]
    public static partial void free(IntPtr pointer);

    [LibraryImport("libc")]
    public static partial uint umask(uint mask);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup(int fd);
}
