using VmPs.Core.Processes;

namespace VmPs.Bench.Shared;

/// <summary>Debian bookworm minbase (debootstrap through the apt mirror) packed as one tar of its root filesystem.</summary>
internal static class DebootstrapRootfs
{
    /// <summary>Writes the tar (gzip-compressed when asked) to <paramref name="destination"/>; the unpacked root is deleted afterwards.</summary>
    public static async Task PackAsync(string destination, IReadOnlyList<string> extraPackages, bool gzip, CancellationToken cancellationToken)
    {
        var rootfs = destination + ".rootfs";
        try
        {
            var include = extraPackages.Count == 0 ? [] : new[] { $"--include={string.Join(',', extraPackages)}" };
            Console.WriteLine($"building the test image: debootstrap --variant=minbase {string.Join(' ', include)} bookworm (once)");
            await ExternalTool.RunCheckedAsync("debootstrap", ["--variant=minbase", .. include, "bookworm", rootfs], cancellationToken);
            await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, gzip ? "-czf" : "-cf", destination, "."], cancellationToken);
        }
        finally
        {
            if (Directory.Exists(rootfs))
            {
                Directory.Delete(rootfs, recursive: true);
            }
        }
    }
}
