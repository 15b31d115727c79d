using VmPs.Core.Processes;

namespace VmPs.ImageBench;

/// <summary>
/// A Debian bookworm minbase root filesystem (debootstrap, ~25 s) packed as one gzip tar layer. Kept in the temp
/// directory so later runs reuse it; delete the file to rebuild it.
/// </summary>
internal static class MinbaseLayer
{
    public static async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        var cache = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "vmps-imagebench-cache"));
        var layer = Path.Combine(cache.FullName, "bookworm-minbase.tar.gz");
        if (File.Exists(layer))
        {
            return layer;
        }

        var rootfs = Path.Combine(cache.FullName, "rootfs");
        var partial = layer + ".partial";
        try
        {
            Console.WriteLine("building the test image: debootstrap --variant=minbase bookworm (once)");
            await ExternalTool.RunCheckedAsync("debootstrap", ["--variant=minbase", "bookworm", rootfs], cancellationToken);
            await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, "-czf", partial, "."], cancellationToken);
            File.Move(partial, layer);
            return layer;
        }
        finally
        {
            File.Delete(partial);
            if (Directory.Exists(rootfs))
            {
                Directory.Delete(rootfs, recursive: true);
            }
        }
    }
}
