using VmPs.Bench.Shared;

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

        var layer = archive + ".layer";
        var partial = archive + ".partial";
        try
        {
            await DebootstrapRootfs.PackAsync(layer, ["openssh-server"], gzip: false, cancellationToken);
            await DockerSaveArchive.WriteAsync(
                layer, partial, "bench/debian:bookworm-ssh", ["/bin/sh", "-c", "mkdir -p /run/sshd /root/.ssh && exec /usr/sbin/sshd -D -e"], cancellationToken);
            File.Move(partial, archive);
            return archive;
        }
        finally
        {
            File.Delete(partial);
            File.Delete(layer);
        }
    }
}
