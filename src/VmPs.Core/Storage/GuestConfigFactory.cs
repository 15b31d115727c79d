using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Protocol.Config;
using VmPs.Protocol.Metadata;

namespace VmPs.Core.Storage;

/// <summary>Builds the guest config from the image and the VM's settings and writes the config disk (vdc).</summary>
internal static class GuestConfigFactory
{
    /// <summary>One host is one zone of one region, named so that no tool takes them for AWS's.</summary>
    private const string Region = "vmps-local";
    private const string AvailabilityZone = "vmps-local-a";

    /// <param name="adapter">The VM's network adapter, or null for a VM without a network.</param>
    public static GuestConfig Create(VmRecord vm, ImageInfo image, bool agentOverVsock, NetworkAdapterInfo? adapter, VmUserData userData) => new()
    {
        VmName = vm.Name,
        Hostname = vm.Name,
        MachineId = MachineId(vm),
        Command = [.. image.Config.Entrypoint, .. image.Config.Cmd],
        Environment = image.Config.Env,
        WorkingDirectory = image.Config.WorkingDirectory,
        User = image.Config.User,
        InitMode = (vm.InitMode ?? image.InitMode) == ImageInitMode.Systemd ? InitMode.Systemd : InitMode.Exec,
        AgentChannel = AgentChannel(agentOverVsock),
        Disks = new DiskSerials(),
        RootfsFilesystem = image.Format == ImageFormat.Ext4 ? RootfsFilesystems.Ext4 : RootfsFilesystems.Erofs,
        Network = adapter is null ? null : Network(adapter),
        Metadata = Metadata(vm, adapter, userData),
    };

    /// <summary>The agent's channel: vsock where the hypervisor has it, else the virtio-serial port.</summary>
    public static AgentChannelConfig AgentChannel(bool overVsock) =>
        overVsock ? new AgentChannelConfig { Kind = AgentChannelKind.Vsock } : new AgentChannelConfig();

    /// <summary>What the VM's own metadata service (169.254.169.254 in the guest) serves.</summary>
    public static InstanceMetadata Metadata(VmRecord vm, NetworkAdapterInfo? adapter, VmUserData userData) => new()
    {
        InstanceId = "i-" + vm.Id.ToString("N")[..17],
        Hostname = vm.Name,
        AvailabilityZone = AvailabilityZone,
        Region = Region,
        ImageId = vm.ImageName,
        LocalIpv4 = adapter?.IPAddress ?? "",
        MacAddress = adapter?.MacAddress ?? "",
        PublicKeys = userData.SshPublicKeys,
        UserData = userData.UserData,
        TokensRequired = vm.MetadataHttpTokens == MetadataHttpTokens.Required,
    };

    /// <summary>The VM's /etc/machine-id: its id, which no other VM (a fork included) has.</summary>
    public static string MachineId(VmRecord vm) => vm.Id.ToString("N");

    /// <summary>The guest's static setup for its adapter (also what the agent's NetworkConfigure takes).</summary>
    public static GuestNetworkConfig Network(NetworkAdapterInfo adapter) => new()
    {
        MacAddress = adapter.MacAddress,
        Address = adapter.IPAddress,
        PrefixLength = adapter.PrefixLength,
        Gateway = adapter.Gateway,
        Dns = adapter.Dns,
        Mtu = adapter.Mtu,
    };

    /// <summary>Writes beside the target and renames, so a running reader never sees a half-written disk.</summary>
    public static async Task WriteDiskAsync(string path, GuestConfig config, CancellationToken cancellationToken)
    {
        var staging = path + ".new";
        try
        {
            await using (var file = PrivateFiles.Open(staging, FileMode.Create, FileAccess.Write))
            {
                await ConfigDisk.WriteAsync(file, config, cancellationToken).ConfigureAwait(false);
            }

            File.Move(staging, path, overwrite: true);
        }
        catch
        {
            File.Delete(staging);
            throw;
        }
    }
}
