using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
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
}

/// <summary>The host probe's report, taken once per composition root, and the hypervisor drivers it allows.</summary>
internal sealed class HostContext : IHostContext
{
    private readonly Func<CancellationToken, Task<HostReport>> probe;
    private readonly HypervisorRegistry hypervisors;
    private readonly SemaphoreSlim gate = new(1, 1);
    private HostReport? report;

    public HostContext(Func<CancellationToken, Task<HostReport>> probe, HypervisorRegistry hypervisors)
    {
        this.probe = probe;
        this.hypervisors = hypervisors;
    }

    public async Task<HostReport> GetReportAsync(bool refresh, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (refresh || report is null)
            {
                report = await probe(cancellationToken).ConfigureAwait(false);
            }

            return report;
        }
        finally
        {
            gate.Release();
        }
    }

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
