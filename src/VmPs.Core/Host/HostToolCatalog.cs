using System.Text.RegularExpressions;
using VmPs.Core.Processes;

namespace VmPs.Core.Host;

/// <summary>A host program VmPs uses: how to ask its version and which package provides it.</summary>
public sealed record HostToolDefinition(string Name, string Package, string Purpose, IReadOnlyList<string>? VersionArguments);

/// <summary>The host programs VmPs looks for, and finding them on a search path.</summary>
public static partial class HostToolCatalog
{
    public static HostToolDefinition Qemu { get; } = new(
        "qemu-system-x86_64", "qemu-system-x86", "runs VMs where Cloud Hypervisor is missing", ["--version"]);

    public static HostToolDefinition CloudHypervisor { get; } = new(
        "cloud-hypervisor",
        "cloud-hypervisor (Debian 13 or later; not in Debian 12: use a release binary from https://github.com/cloud-hypervisor/cloud-hypervisor/releases)",
        "the preferred hypervisor; needs working KVM",
        ["--version"]);

    public static HostToolDefinition MkfsErofs { get; } = new(
        "mkfs.erofs", "erofs-utils", "builds erofs root filesystem images", ["--version"]);

    public static HostToolDefinition MkfsExt4 { get; } = new(
        "mkfs.ext4", "e2fsprogs", "formats overlay and volume disks", ["-V"]);

    public static HostToolDefinition QemuImg { get; } = new(
        "qemu-img", "qemu-utils", "creates, copies and resizes qcow2 disks and volumes", ["--version"]);

    public static HostToolDefinition Resize2fs { get; } = new(
        "resize2fs", "e2fsprogs", "grows the ext4 filesystem of a resized volume or disk", null);

    public static HostToolDefinition E2fsck { get; } = new(
        "e2fsck", "e2fsprogs", "checks an ext4 filesystem before it is resized", ["-V"]);

    public static HostToolDefinition Debugfs { get; } = new(
        "debugfs", "e2fsprogs", "writes device nodes into ext4 root filesystem images", ["-V"]);

    public static HostToolDefinition Busybox { get; } = new(
        "busybox", "busybox-static", "builds the default 'busybox' image", ["--help"]);

    public static HostToolDefinition Xorriso { get; } = new(
        "xorriso", "xorriso", "writes the cloud-init seed disk of disk image VMs", ["-version"]);

    public static HostToolDefinition Caddy { get; } = new(
        "caddy", "caddy", "serves the HTTPS ingress to VMs (New-VmIngress)", ["version"]);

    public static IReadOnlyList<HostToolDefinition> All { get; } = [Qemu, CloudHypervisor, MkfsErofs, MkfsExt4, QemuImg, Resize2fs, E2fsck, Debugfs, Busybox, Xorriso, Caddy];

    /// <summary>$PATH plus the sbin directories, which a non-root user's PATH often lacks (mkfs.ext4 lives there).</summary>
    public static string DefaultSearchPath()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        var directories = path.Split(':', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var sbin in new[] { "/usr/local/sbin", "/usr/sbin", "/sbin" })
        {
            if (!directories.Contains(sbin))
            {
                directories.Add(sbin);
            }
        }

        return string.Join(':', directories);
    }

    /// <summary>Finds the tool on <paramref name="searchPath"/> and, when found, asks its version.</summary>
    public static async Task<HostTool> FindAsync(HostToolDefinition definition, string searchPath, CancellationToken cancellationToken)
    {
        var path = DetachedProcess.FindOnPath(definition.Name, searchPath);
        if (path is null)
        {
            return new HostTool(definition.Name, null, null, definition.Package);
        }

        var version = definition.VersionArguments is null ? null : await ReadVersionAsync(path, definition.VersionArguments, cancellationToken).ConfigureAwait(false);
        return new HostTool(definition.Name, path, version, definition.Package);
    }

    /// <summary>A version query that hangs (a broken install) must not hang the probe: the tool then shows no version.</summary>
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(10);

    /// <summary>"QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"; "cloud-hypervisor v53.0" -> "53.0".</summary>
    internal static string? ParseVersion(string output)
    {
        var match = VersionPattern().Match(output);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static async Task<string?> ReadVersionAsync(string path, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ExternalTool.RunAsync(path, arguments, cancellationToken, timeout: VersionTimeout).ConfigureAwait(false);
            return ParseVersion(result.StandardOutput + "\n" + result.StandardError);
        }
        catch (VmPsException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"(?<![\w.])v?(\d+\.\d+(?:\.\d+)*)")]
    private static partial Regex VersionPattern();
}
