using VmPs.Bench.Shared;

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

        var partial = layer + ".partial";
        try
        {
            await DebootstrapRootfs.PackAsync(partial, [], gzip: true, cancellationToken);
            File.Move(partial, layer);
            return layer;
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
