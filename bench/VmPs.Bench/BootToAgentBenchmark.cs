using System.Diagnostics;
using VmPs.Core.Logs;
using VmPs.Core.Vms;

namespace VmPs.Bench;

/// <summary>
/// One VmPs boot: Start-Vm until the agent answers, then the first exec result, and where the time went: on the host,
/// until Start-Vm launched QEMU and until QEMU's control socket answered (Start-Vm's progress steps); in the guest, the
/// <see cref="BootBreakdown"/>.
/// </summary>
internal sealed record VmPsBootSample(TimeSpan AgentReady, TimeSpan FirstExecResult, TimeSpan Launching, TimeSpan QemuRunning, BootBreakdown? Breakdown);

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
        var steps = new StepTimes(stopwatch);
        await manager.StartAsync(vmName, new VmStartOptions { WaitForAgent = true }, steps, cancellationToken);
        var agentReady = stopwatch.Elapsed;
        var result = await manager.ExecAsync(vmName, new VmExecOptions { Command = ["true"] }, cancellationToken);
        var firstExec = stopwatch.Elapsed;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"'true' exited with {result.ExitCode}: {result.Stderr}");
        }

        await manager.StopAsync(vmName, new VmStopOptions { Method = VmStopMethod.TurnOff }, cancellationToken);
        var console = await manager.GetLogAsync(vmName, VmLogSource.Console, new VmLogOptions(), cancellationToken).ToListAsync(cancellationToken);
        var init = await manager.GetInitLogAsync(vmName, new VmLogOptions(), cancellationToken).ToListAsync(cancellationToken);
        return new VmPsBootSample(agentReady, firstExec, steps.At("Launching the hypervisor"), steps.At("Waiting for the guest agent"), BootBreakdown.Read(console, init));
    }

    public Task CleanUpAsync(CancellationToken cancellationToken) => manager.RemoveAsync(vmName, force: true, cancellationToken);
}

/// <summary>When Start-Vm reported each progress step (reported synchronously, on the starting thread).</summary>
internal sealed class StepTimes(Stopwatch clock) : IProgress<VmProgress>
{
    private readonly Dictionary<string, TimeSpan> steps = new(StringComparer.Ordinal);

    public void Report(VmProgress value) => steps.TryAdd(value.Status, clock.Elapsed);

    public TimeSpan At(string status) =>
        steps.TryGetValue(status, out var time) ? time : throw new InvalidOperationException($"Start-Vm reported no '{status}' step (it reported: {string.Join(", ", steps.Keys)}).");
}
