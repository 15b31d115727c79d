using System.Runtime.InteropServices;

namespace VmPs.SshGateway.Native;

/// <summary>The libc calls of the gateway program: a mount namespace for sshd, and the exec into it.</summary>
internal static partial class Libc
{
    private const string Library = "libc";

    [LibraryImport(Library, SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string? source, string target, string? fileSystemType, ulong flags, string? data);

    /// <summary>The last element of <paramref name="argv"/> must be null.</summary>
    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execv(string path, string?[] argv);
}
