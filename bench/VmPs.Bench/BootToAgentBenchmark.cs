using System.Diagnostics;
using VmPs.Core.Logs;
using VmPs.Core.Vms;

namespace VmPs.Bench;

/// <summary>One VmPs boot: Start-Vm until the agent answers, then the first exec result, and where the time went.</summary>
internal sealed record VmPsBootSample(TimeSpan AgentReady, TimeSpan FirstExecResult, BootBreakdown? Breakdown);

/// <summary>
/// Measures what a user sees: the time from Start-Vm to the agent being ready (Start-Vm returns),
/// and to the first Invoke-VmCommand result, on a VM created once (with the given kernel) and restarted for each run.
/// </summary>
internal sealed class BootToAgentBenchmark(VmManager manager, string vmName, string kernelPath)
{
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await manager.CreateAsync(new VmCreateOptions { Name = vmName, Image = "busybox", KernelPath = kernelPath }, cancellationToken);

        // Warm-up: builds the busybox image, the initrd and the host probe cache once.
        await MeasureAsync(cancellationToken);
    }

    public async Task<VmPsBootSample> MeasureAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await manager.StartAsync(vmName, new VmStartOptions { WaitForAgent = true }, progress: null, cancellationToken);
        var agentReady = stopwatch.Elapsed;
        var result = await manager.ExecAsync(vmName, new VmExecOptions { Command = ["true"] }, cancellationToken);
        var firstExec = stopwatch.Elapsed;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"'true' exited with {result.ExitCode}: {result.Stderr}");
        }

        await manager.StopAsync(vmName, new VmStopOptions { Force = true }, cancellationToken);
        var console = await manager.GetLogAsync(vmName, VmLogSource.Console, new VmLogOptions(), cancellationToken).ToListAsync(cancellationToken);
        var init = await manager.GetInitLogAsync(vmName, new VmLogOptions(), cancellationToken).ToListAsync(cancellationToken);
        return new VmPsBootSample(agentReady, firstExec, BootBreakdown.Read(console, init));
    }

    public Task CleanUpAsync(CancellationToken cancellationToken) => manager.RemoveAsync(vmName, force: true, cancellationToken);
}
