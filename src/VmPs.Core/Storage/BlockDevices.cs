using VmPs.Core.Native;

namespace VmPs.Core.Storage;

/// <summary>Tells a block device (a thin volume's /dev/VG/LV) from a disk file: QEMU opens them through different drivers.</summary>
internal static class BlockDevices
{
    public static bool Is(string path)
    {
        unsafe
        {
            // struct stat on x86_64: st_mode (32 bits) at offset 24, 144 bytes in all; S_IFMT 0xF000, S_IFBLK 0x6000.
            var buffer = stackalloc byte[144];
            return Libc.stat(path, buffer) == 0 && (*(uint*)(buffer + 24) & 0xF000) == 0x6000;
        }
    }
}
