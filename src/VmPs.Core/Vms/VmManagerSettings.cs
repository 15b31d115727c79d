using VmPs.Core.Host;
using VmPs.Core.Images;
using VmPs.Core.Network;

namespace VmPs.Core.Vms;

/// <summary>What VmManager takes from the host; tests point these at other real programs or a fixed report.</summary>
internal sealed record VmManagerSettings
{
    public Func<VmPsPaths, CancellationToken, Task<HostReport>> ProbeHost { get; init; } = HostProbe.ProbeAsync;

    public string BusyboxPath { get; init; } = BusyboxRootfs.DefaultBusyboxPath;

    /// <summary>Null: the host's mkfs.ext4.</summary>
    public string? MkfsExt4 { get; init; }

    /// <summary>The cap of each log file a VM writes on the host (see VmLogKeeper).</summary>
    public long LogFileMaxBytes { get; init; } = Logs.VmLogKeeper.MaxFileBytes;

    /// <summary>Null: $VMPS_NETNS's namespace, else the caller's own.</summary>
    public NetworkNamespace? NetworkNamespace { get; init; }

    /// <summary>Called once a VM was made or removed: the SSH gateway's accounts follow the VMs' names.</summary>
    public Func<CancellationToken, Task> VmNamesChanged { get; init; } = _ => Task.CompletedTask;
}
