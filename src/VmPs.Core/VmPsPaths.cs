namespace VmPs.Core;

/// <summary>
/// Where VmPs keeps its state: $VMPS_HOME, else /var/lib/vmps as root, else ~/.local/share/vmps.
/// </summary>
public sealed class VmPsPaths
{
    public VmPsPaths(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string StateDatabase => Path.Combine(Root, "state.db");

    public string VmsDirectory => Path.Combine(Root, "vms");

    public string ImagesDirectory => Path.Combine(Root, "images");

    public string CacheDirectory => Path.Combine(Root, "cache");

    public string InitrdCacheDirectory => Path.Combine(CacheDirectory, "initrd");

    public string BlobCacheDirectory => Path.Combine(CacheDirectory, "blobs");

    /// <summary>VmPs guest kernels built by Build-VmKernel, one directory per source version and config hash.</summary>
    public string KernelsDirectory => Path.Combine(Root, "kernels");

    public string VolumesDirectory => Path.Combine(Root, "volumes");

    /// <summary>The ingress's Caddy: its admin socket, configuration, log and certificates.</summary>
    public string IngressDirectory => Path.Combine(Root, "ingress");

    /// <summary>The SSH gateway's sshd: its configuration, host key, accounts and log.</summary>
    public string SshGatewayDirectory => Path.Combine(Root, "sshgw");

    /// <summary>Everything VmPs keeps in the state directory (what is repaired to 0700/0600 when the state is opened).</summary>
    public IEnumerable<string> OwnedEntries =>
    [
        StateDatabase, StateDatabase + "-wal", StateDatabase + "-shm", StateDatabase + "-journal",
        VmsDirectory, ImagesDirectory, CacheDirectory, KernelsDirectory, VolumesDirectory, IngressDirectory, SshGatewayDirectory,
    ];

    public string VmDirectory(string vmId) => Path.Combine(VmsDirectory, vmId);

    public static VmPsPaths Default() => new(ResolveDefaultRoot(
        Environment.GetEnvironmentVariable("VMPS_HOME"),
        Environment.IsPrivilegedProcess,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)));

    internal static string ResolveDefaultRoot(string? vmpsHome, bool isRoot, string userHome)
    {
        if (!string.IsNullOrWhiteSpace(vmpsHome))
        {
            return vmpsHome;
        }

        return isRoot ? "/var/lib/vmps" : Path.Combine(userHome, ".local", "share", "vmps");
    }
}
