using System.Security.Cryptography;
using System.Text.Json;
using VmPs.Core.Processes;

namespace VmPs.Bench.Shared;

/// <summary>A <c>docker save</c> archive of one uncompressed layer tar, which New-VmImage takes as it is (DockerArchiveImageSource).</summary>
internal static class DockerSaveArchive
{
    /// <summary>
    /// Writes <paramref name="destination"/>: manifest.json naming <paramref name="tag"/>, the image config (the layer's
    /// diff_id, PATH, <paramref name="command"/> when there is one) and the layer, under its own file name.
    /// </summary>
    public static async Task WriteAsync(string layer, string destination, string tag, IReadOnlyList<string>? command, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("vmps-bench-archive-").FullName;
        try
        {
            var layerName = Path.GetFileName(layer);
            await File.WriteAllBytesAsync(Path.Combine(work, "config.json"), await ConfigAsync(layer, command, cancellationToken), cancellationToken);
            await File.WriteAllBytesAsync(
                Path.Combine(work, "manifest.json"),
                JsonSerializer.SerializeToUtf8Bytes(new[] { new { Config = "config.json", RepoTags = new[] { tag }, Layers = new[] { layerName } } }),
                cancellationToken);
            await ExternalTool.RunCheckedAsync(
                "tar", ["-cf", destination, "-C", work, "manifest.json", "config.json", "-C", Path.GetDirectoryName(Path.GetFullPath(layer))!, layerName], cancellationToken);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<byte[]> ConfigAsync(string layer, IReadOnlyList<string>? command, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(layer);
        var diffId = $"sha256:{Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken))}";
        return JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new
            {
                Env = new[] { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
                Cmd = command,
            },
            rootfs = new { type = "layers", diff_ids = new[] { diffId } },
        });
    }
}
