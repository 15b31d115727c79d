using VmPs.Core.Native;

namespace VmPs.Core.Storage;

/// <summary>
/// Tells a block device (a thin volume's /dev/VG/LV) from a disk file, as QEMU opens them through different drivers,
/// and a regular file from anything else (a FIFO or a character device, whose open or read could block or never end).
/// </summary>
internal static class BlockDevices
{
    // S_IFMT and its file types.
    private const uint TypeMask = 0xF000;
    private const uint BlockDevice = 0x6000;
    private const uint RegularFile = 0x8000;

    public static bool Is(string path) => TypeOf(path) == BlockDevice;

    /// <summary>Whether <paramref name="path"/> names a regular file, after symbolic links.</summary>
    public static bool IsRegularFile(string path) => TypeOf(path) == RegularFile;

    private static uint? TypeOf(string path)
    {
        unsafe
        {
            // struct stat on x86_64: st_mode (32 bits) at offset 24, 144 bytes in all.
            var buffer = stackalloc byte[144];
            return Libc.stat(path, buffer) == 0 ? *(uint*)(buffer + 24) & TypeMask : null;
        }
    }
}
