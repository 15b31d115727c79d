using System.IO.Compression;
using VmPs.Core.Processes;

namespace VmPs.Core.Boot;

/// <summary>
/// Reads a module file as the plain ELF object the guest loads. Compressed modules are unpacked on
/// the host so the guest does not depend on the kernel's in-kernel decompression support: gzip and
/// zstd (ZstdSharp.Port) in process, xz with the xz tool (.NET has no xz codec; xz-utils is on every
/// Debian and Ubuntu host, as dpkg depends on it).
/// </summary>
public static class KernelModuleReader
{
    public static async Task<byte[]> ReadAsync(KernelModuleFile module, CancellationToken cancellationToken)
    {
        switch (module.Compression)
        {
            case KernelModuleCompression.None:
                return await File.ReadAllBytesAsync(module.Path, cancellationToken).ConfigureAwait(false);
            case KernelModuleCompression.Gzip:
                return await DecompressAsync(module, file => new GZipStream(file, CompressionMode.Decompress), cancellationToken).ConfigureAwait(false);
            case KernelModuleCompression.Zstd:
                return await DecompressAsync(module, file => new ZstdSharp.DecompressionStream(file), cancellationToken).ConfigureAwait(false);
            case KernelModuleCompression.Xz:
                return await DecompressWithToolAsync(module, "xz", "xz-utils", cancellationToken).ConfigureAwait(false);
            default:
                throw new ArgumentOutOfRangeException(nameof(module), module.Compression, "Unknown module compression.");
        }
    }

    private static async Task<byte[]> DecompressAsync(KernelModuleFile module, Func<Stream, Stream> decompress, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(module.Path);
        await using var decompressed = decompress(file);
        using var buffer = new MemoryStream();
        await decompressed.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>xz is decompressed by its host tool in a scratch directory (its output is binary, so it goes to a file).</summary>
    private static async Task<byte[]> DecompressWithToolAsync(KernelModuleFile module, string tool, string package, CancellationToken cancellationToken)
    {
        if (DetachedProcess.FindOnPath(tool) is null)
        {
            throw new VmPsException(
                VmPsErrorIds.ModuleDecompressorNotFound,
                VmPsErrorKind.NotInstalled,
                $"Kernel module '{module.Path}' is {tool}-compressed and '{tool}' is not installed.",
                module.Path)
            {
                RecommendedAction = $"Install the '{package}' package.",
            };
        }

        var scratch = Directory.CreateTempSubdirectory("vmps-module-");
        try
        {
            var compressedCopy = Path.Combine(scratch.FullName, Path.GetFileName(module.Path));
            File.Copy(module.Path, compressedCopy);
            // xz decompresses "X.ko.xz" in place to "X.ko".
            await ExternalTool.RunCheckedAsync(tool, ["--decompress", "--quiet", compressedCopy], cancellationToken).ConfigureAwait(false);
            return await File.ReadAllBytesAsync(Path.Combine(scratch.FullName, module.FileName), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
