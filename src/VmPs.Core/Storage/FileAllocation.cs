using VmPs.Core.Native;

namespace VmPs.Core.Storage;

/// <summary>What sparse disk files really cost on the host.</summary>
internal static class FileAllocation
{
    /// <summary>The host blocks a file really uses (st_blocks * 512); 0 when it is missing.</summary>
    public static long BytesOf(string path)
    {
        unsafe
        {
            // struct stat on x86_64: st_blocks (512-byte units) at offset 64, 144 bytes in all.
            var buffer = stackalloc byte[144];
            return Libc.stat(path, buffer) == 0 ? *(long*)(buffer + 64) * 512 : 0;
        }
    }
}
