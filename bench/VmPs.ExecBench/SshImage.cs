using System.Security.Cryptography;
using System.Text.Json;
using VmPs.Bench.Shared;
using VmPs.Core.Processes;

namespace VmPs.ExecBench;

/// <summary>
/// Debian bookworm minbase with openssh-server (debootstrap through the apt mirror, once), packed as a
/// `docker save` archive whose command runs sshd in the foreground. Kept in the temp directory so later runs
/// reuse it; delete the file to rebuild it.
/// </summary>
internal static class SshImage
{
    public static async Task<string> GetArchiveAsync(CancellationToken cancellationToken)
    {
        var cache = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "vmps-execbench-cache"));
        var archive = Path.Combine(cache.FullName, "bookworm-minbase-ssh.tar");
        if (File.Exists(archive))
        {
            return archive;
        }

        var work = Path.Combine(cache.FullName, "build");
        var partial = archive + ".partial";
        try
        {
            Directory.CreateDirectory(work);
            var layer = Path.Combine(work, "layer.tar");
            await DebootstrapRootfs.PackAsync(layer, ["openssh-server"], gzip: false, cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(work, "config.json"), await ConfigAsync(layer, cancellationToken), cancellationToken);
            await File.WriteAllTextAsync(
                Path.Combine(work, "manifest.json"),
                """[{"Config":"config.json","RepoTags":["bench/debian:bookworm-ssh"],"Layers":["layer.tar"]}]""",
                cancellationToken);
            await ExternalTool.RunCheckedAsync("tar", ["-C", work, "-cf", partial, "manifest.json", "config.json", "layer.tar"], cancellationToken);
            File.Move(partial, archive);
            return archive;
        }
        finally
        {
            File.Delete(partial);
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static async Task<byte[]> ConfigAsync(string layer, CancellationToken cancellationToken)
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
                Cmd = new[] { "/bin/sh", "-c", "mkdir -p /run/sshd /root/.ssh && exec /usr/sbin/sshd -D -e" },
            },
            rootfs = new { type = "layers", diff_ids = new[] { diffId } },
        });
    }
}
