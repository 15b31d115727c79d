using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Ingress;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Host;

/// <summary>What VmPs knows about the host: the probe's report, kept for the session.</summary>
public interface IHostContext
{
    /// <summary>
    /// The host probe's report, probed on first use and then kept; <paramref name="refresh"/> probes
    /// again and keeps the new report (Get-VmHost does, so installing a tool shows at once).
    /// </summary>
    Task<HostReport> GetReportAsync(bool refresh, CancellationToken cancellationToken);

    /// <summary>
    /// Every check Set-VmHost -StorageBackend makes before it records anything: LVM's name rules, the kernel's
    /// device-mapper, the lvm2 programs, the thin pool.
    /// </summary>
    Task ValidateStorageAsync(StorageSettings settings, CancellationToken cancellationToken);

    /// <summary>Checks and records the host's storage backend for new volumes; returns the report showing it.</summary>
    Task<HostReport> SetStorageAsync(StorageSettings settings, CancellationToken cancellationToken);
}

/// <summary>The host probe's report, taken once per composition root, and the hypervisor drivers it allows.</summary>
internal sealed class HostContext : IHostContext
{
    private readonly Func<CancellationToken, Task<HostReport>> probe;
    private readonly HypervisorRegistry hypervisors;
    private readonly StorageSettingsStore storage;
    private readonly IngressStore ingress;
    private readonly SemaphoreSlim gate = new(1, 1);
    private HostReport? report;

    public HostContext(Func<CancellationToken, Task<HostReport>> probe, HypervisorRegistry hypervisors, StateDatabase database, LvmThinHost? lvmThin = null)
    {
        this.probe = probe;
        this.hypervisors = hypervisors;
        storage = new StorageSettingsStore(database);
        ingress = new IngressStore(database);
        LvmThin = lvmThin ?? LvmThinHost.Real;
    }

    /// <summary>The host side of LvmThin storage: its checks and the runner of its plans.</summary>
    public LvmThinHost LvmThin { get; }

    public async Task<HostReport> GetReportAsync(bool refresh, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (refresh || report is null)
            {
                report = (await probe(cancellationToken).ConfigureAwait(false)) with
                {
                    Storage = await storage.GetAsync(cancellationToken).ConfigureAwait(false),
                    Ingress = await ingress.GetHostSettingsAsync(cancellationToken).ConfigureAwait(false),
                };
            }

            return report;
        }
        finally
        {
            gate.Release();
        }
    }

    public Task ValidateStorageAsync(StorageSettings settings, CancellationToken cancellationToken) => LvmThin.CheckAsync(settings, cancellationToken);

    public async Task<HostReport> SetStorageAsync(StorageSettings settings, CancellationToken cancellationToken)
    {
        await LvmThin.CheckAsync(settings, cancellationToken).ConfigureAwait(false);
        await storage.SetAsync(settings, cancellationToken).ConfigureAwait(false);
        return await GetReportAsync(refresh: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where new volumes go: the storage backend as last recorded (another session may have changed it).</summary>
    public Task<StorageSettings> StorageAsync(CancellationToken cancellationToken) => storage.GetAsync(cancellationToken);

    public Task<HostReport> ReportAsync(CancellationToken cancellationToken) => GetReportAsync(refresh: false, cancellationToken);

    /// <summary>
    /// The driver for a VM (see <see cref="HypervisorRegistry.Select"/>). When the kept report says a
    /// hypervisor is missing, the host is probed once more first: one installed during the session
    /// is found without a new session.
    /// </summary>
    public async Task<IHypervisorDriver> SelectAsync(HypervisorKind? requested, HypervisorFeatures required, QemuMachine? machine, CancellationToken cancellationToken)
    {
        try
        {
            return hypervisors.Select(await ReportAsync(cancellationToken).ConfigureAwait(false), requested, required, machine);
        }
        catch (VmPsException ex) when (ex.Kind == VmPsErrorKind.NotInstalled)
        {
            return hypervisors.Select(await GetReportAsync(refresh: true, cancellationToken).ConfigureAwait(false), requested, required, machine);
        }
    }

    /// <summary>The driver of an existing VM: its hypervisor, on its machine.</summary>
    public Task<IHypervisorDriver> DriverAsync(VmRecord vm, CancellationToken cancellationToken) =>
        SelectAsync(vm.Hypervisor, HypervisorFeatures.None, vm.MachineType, cancellationToken);
}
