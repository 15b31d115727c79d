using VmPs.Core;
using VmPs.Core.Images;

namespace VmPs.Tests.Infrastructure;

/// <summary>Disk images for the tests of disk image VMs.</summary>
internal static class TestDiskImages
{
    /// <summary>
    /// Imports a sparse raw disk of <paramref name="size"/> bytes holding only an MBR boot signature (partitioned, as
    /// New-VmImage requires, but with nothing to boot: firmware tries it and falls back to its own shell).
    /// </summary>
    public static async Task<ImageInfo> ImportBlankAsync(VmPsPaths paths, string directory, string name, long size)
    {
        var path = Path.Combine(directory, name + ".raw");
        await using (var file = File.Create(path))
        {
            file.SetLength(size);
            file.Position = 510;
            file.Write([0x55, 0xAA]);
        }

        return await new ImageManager(paths).AddDiskAsync(new DiskImageAddOptions { Path = path, Name = name }, null, CancellationToken.None);
    }
}
