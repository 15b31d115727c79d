using System.Text.Json.Nodes;
using VmPs.Core.Host;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Protocol.Config;

namespace VmPs.Core.Storage;

/// <summary>
/// The cloud-init NoCloud seed of a disk image VM: an ISO 9660 volume labelled <c>cidata</c> (written by xorriso, no
/// loop mount) holding meta-data (instance-id, local-hostname), network-config version 2 (the VmPs network's address,
/// gateway, DNS and MTU, matched by MAC) and user-data. meta-data and network-config are written as JSON, which is
/// YAML too, so no value (a hostname, a DNS server) needs YAML quoting.
/// </summary>
internal static class CloudInitSeed
{
    /// <summary>The volume label NoCloud looks for.</summary>
    public const string VolumeLabel = "cidata";

    /// <summary>The seed disk's virtio serial.</summary>
    public const string DiskSerial = "vmps-seed";

    public static string MetaData(Guid vmId, string hostname) => new JsonObject
    {
        ["instance-id"] = InstanceId(vmId),
        ["local-hostname"] = hostname,
    }.ToJsonString();

    /// <summary>Stays the same across boots, so cloud-init runs its once-per-instance modules once.</summary>
    public static string InstanceId(Guid vmId) => "vmps-" + vmId.ToString("N");

    /// <summary>Version 2: one ethernet matched by the VM's MAC with its static address; without an adapter, none.</summary>
    public static string NetworkConfig(GuestNetworkConfig? network)
    {
        var ethernets = new JsonObject();
        if (network is not null)
        {
            var ethernet = new JsonObject
            {
                ["match"] = new JsonObject { ["macaddress"] = network.MacAddress.ToLowerInvariant() },
                ["set-name"] = "eth0",
                ["addresses"] = new JsonArray($"{network.Address}/{network.PrefixLength}"),
                ["mtu"] = network.Mtu,
            };
            if (network.Gateway is { } gateway)
            {
                // gateway4 rather than a default route: cloud-init's ifupdown renderer writes a route as "post-up route add"
                // (net-tools, missing from many images) but gateway4 as ifupdown's own "gateway" line.
                ethernet["gateway4"] = gateway;
            }

            if (network.Dns.Count > 0)
            {
                ethernet["nameservers"] = new JsonObject { ["addresses"] = new JsonArray([.. network.Dns.Select(server => JsonValue.Create(server))]) };
            }

            ethernets["eth0"] = ethernet;
        }

        return new JsonObject { ["version"] = 2, ["ethernets"] = ethernets }.ToJsonString();
    }

    /// <summary>
    /// Writes the seed volume beside <paramref name="path"/> and renames it into place, so a VM never boots a
    /// half-written seed; the files are staged in a private directory that is removed afterwards, where
    /// <paramref name="stageMore"/> adds files of its own.
    /// </summary>
    public static async Task WriteAsync(
        string path, string metaData, string networkConfig, string userData, Func<string, CancellationToken, Task> stageMore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stageMore);
        var staging = path + ".staging";
        var image = path + ".new";
        DeleteStaging(staging, image);
        try
        {
            PrivateFiles.CreateNewDirectory(staging);
            await PrivateFiles.WriteAllTextAsync(Path.Combine(staging, "meta-data"), metaData, cancellationToken).ConfigureAwait(false);
            await PrivateFiles.WriteAllTextAsync(Path.Combine(staging, "network-config"), networkConfig, cancellationToken).ConfigureAwait(false);
            await PrivateFiles.WriteAllTextAsync(Path.Combine(staging, "user-data"), userData, cancellationToken).ConfigureAwait(false);
            await stageMore(staging, cancellationToken).ConfigureAwait(false);
            await ExternalTool.RunCheckedAsync(
                HostTools.Require(HostToolCatalog.Xorriso),
                ["-as", "mkisofs", "-quiet", "-output", image, "-volid", VolumeLabel, "-joliet", "-rational-rock", staging],
                cancellationToken).ConfigureAwait(false);
            PrivateFiles.Restrict(image);
            File.Move(image, path, overwrite: true);
        }
        finally
        {
            DeleteStaging(staging, image);
        }
    }

    private static void DeleteStaging(string staging, string image)
    {
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        File.Delete(image);
    }
}
