using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Core.Vms;

/// <summary>The host probe's report, taken once per VmManager, and the hypervisor drivers it allows.</summary>
internal sealed class HostContext
{
    private readonly Func<CancellationToken, Task<HostReport>> probe;
    private readonly SemaphoreSlim gate = new(1, 1);
    private HostReport? report;

    public HostContext(Func<CancellationToken, Task<HostReport>> probe)
    {
        this.probe = probe;
    }

    public async Task<HostReport> ReportAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return report ??= await probe(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<HypervisorSelector> SelectorAsync(CancellationToken cancellationToken) =>
        new(await ReportAsync(cancellationToken).ConfigureAwait(false), () => new CloudHypervisorDriver());

    public async Task<IHypervisorDriver> DriverAsync(HypervisorKind kind, CancellationToken cancellationToken) =>
        (await SelectorAsync(cancellationToken).ConfigureAwait(false)).Select(kind);
}
