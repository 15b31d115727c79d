using System.Runtime.InteropServices;

namespace VmPs.Tests.Native;

/// <summary>
/// The libc calls only tests make, source-generated with LibraryImport; tests use Core's
/// <c>VmPs.Core.Native.Libc</c> for every call Core declares already.
/// </summary>
internal static partial class TestLibc
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint lgetxattr(string path, string name, byte[] value, nuint size);
}
