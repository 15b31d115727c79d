using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Images.Registry;
using VmPs.Tests.Core.State;
using Xunit.Abstractions;

using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// The main job, end to end through VmManager: the busybox image boots under QEMU (TCG) with the
/// host's Debian cloud kernel, answers commands through the agent, is seen by a second manager (a
/// second pwsh session), stops and is removed without a trace. One boot serves every assertion.
/// The tests share one VMPS_HOME so the host probe's KVM boot test runs once.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class BusyboxVmEndToEndTests : IClassFixture<TemporaryVmPsHome>, IDisposable
{
    private const string VmName = "e2e";

    private readonly TemporaryVmPsHome home;
    private readonly ITestOutputHelper output;
    private ProcessIdentity? hypervisor;

    public BusyboxVmEndToEndTests(TemporaryVmPsHome home, ITestOutputHelper output)
    {
        this.home = home;
        this.output = output;
    }

    [RequiresVmBootFact]
    public async Task BusyboxVmBootsRunsCommandsStopsAndLeavesNothingBehind()
    {
        GuestBinary.Locate();
        var interfacesBefore = HostNetworkInterfaces();
        var manager = new VmManager(home.Paths);
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = VmName, Image = "busybox", Cpus = 1, MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);
        var kernelVersion = (await KernelLocator.ResolveAsync(created.KernelPath, CancellationToken.None)).Version;

        var progress = new List<VmProgress>();
        var started = await manager.StartAsync(VmName, new VmStartOptions(), new SynchronousProgress(progress), CancellationToken.None);
        hypervisor = new ProcessIdentity(started.ProcessId!.Value, ProcessProbe.ReadStartTime(started.ProcessId.Value) ?? 0);

        Assert.Equal(VmState.Running, started.State);
        Assert.True(ProcessProbe.IsRunning(hypervisor.Value));
        Assert.Equal(100, progress[^1].PercentComplete);

        var uname = await manager.ExecAsync(VmName, new VmExecOptions { Command = ["uname", "-r"] }, CancellationToken.None);
        Assert.Equal(0, uname.ExitCode);
        Assert.Equal(kernelVersion, uname.Stdout.Trim());
        Assert.Equal("", uname.Stderr);
        Assert.Equal(VmName, uname.VmName);

        var failing = await manager.ExecAsync(
            VmName,
            new VmExecOptions { Command = ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"] },
            CancellationToken.None);
        Assert.Equal(3, failing.ExitCode);
        Assert.Null(failing.Signal);
        Assert.Equal("to-stdout\n", failing.Stdout);
        Assert.Equal("to-stderr\n", failing.Stderr);

        var withSettings = await manager.ExecAsync(
            VmName,
            new VmExecOptions
            {
                Command = ["sh", "-c", "echo \"$GREETING\"; pwd; cat"],
                Environment = new Dictionary<string, string> { ["GREETING"] = "hello" },
                WorkingDirectory = "/tmp",
                StandardInput = "from stdin",
            },
            CancellationToken.None);
        Assert.Equal("hello\n/tmp\nfrom stdin", withSettings.Stdout);

        var timedOut = await Assert.ThrowsAsync<VmPsException>(() => manager.ExecAsync(
            VmName, new VmExecOptions { Command = ["sleep", "60"], Timeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None));
        Assert.Equal("AgentExecTimeout", timedOut.ErrorId);

        var secondSession = new VmManager(home.Paths);
        var seen = await secondSession.GetAsync(VmName, CancellationToken.None);
        Assert.Equal(VmState.Running, seen.State);
        Assert.Equal(started.ProcessId, seen.ProcessId);
        var fromSecond = await secondSession.ExecAsync(VmName, new VmExecOptions { Command = ["cat", "/etc/hostname"] }, CancellationToken.None);
        Assert.Equal(0, fromSecond.ExitCode);

        var stopped = await secondSession.StopAsync(VmName, new VmStopOptions(), CancellationToken.None);
        Assert.Equal(VmState.Stopped, stopped.State);
        Assert.False(ProcessProbe.IsRunning(hypervisor.Value));
        Assert.Null(stopped.StatusDetail);

        await manager.RemoveAsync(VmName, force: false, CancellationToken.None);
        Assert.Null(await manager.FindAsync(VmName, CancellationToken.None));
        Assert.False(Directory.Exists(created.Directory));
        Assert.Empty(HostProcesses.Mentioning(home.Paths.Root));
        Assert.Equal(interfacesBefore, HostNetworkInterfaces());
    }

    /// <summary>The host's network interfaces (TAPs included), to show a VM leaves none behind.</summary>
    private static string[] HostNetworkInterfaces() =>
        Directory.GetFileSystemEntries("/sys/class/net").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [RequiresVmBootFact]
    public async Task StartThatFailsAfterLaunchKillsTheHypervisorAndRecordsACrash()
    {
        GuestBinary.Locate();
        var interfacesBefore = HostNetworkInterfaces();
        var manager = new VmManager(home.Paths);
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = "fails-to-start", Image = "busybox", MemoryMiB = 128, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);

        // No guest agent can answer within a millisecond: the start fails after QEMU was launched.
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            manager.StartAsync(created.Name, new VmStartOptions { Timeout = TimeSpan.FromMilliseconds(1) }, null, CancellationToken.None));

        Assert.Equal("AgentNotReady", error.ErrorId);
        var vm = await new VmManager(home.Paths).GetAsync(created.Name, CancellationToken.None);
        Assert.Equal(VmState.Crashed, vm.State);
        Assert.Null(vm.ProcessId);
        Assert.Contains("The VM failed to start.", vm.StatusDetail);
        Assert.Contains(vm.StatusDetail!, error.Message);
        Assert.Empty(HostProcesses.Mentioning(home.Paths.Root));
        Assert.Empty(Directory.GetFiles(created.Directory, "*.sock"));

        await manager.RemoveAsync(created.Name, force: false, CancellationToken.None);
        Assert.False(Directory.Exists(created.Directory));
        Assert.Null(await manager.FindAsync(created.Name, CancellationToken.None));
        Assert.Equal(interfacesBefore, HostNetworkInterfaces());
    }

    [RequiresVmBootFact]
    public async Task PowerButtonShutsTheGuestDownCleanly()
    {
        GuestBinary.Locate();
        var manager = new VmManager(home.Paths);
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = "power-button", Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);
        var started = await manager.StartAsync(created.Name, new VmStartOptions(), null, CancellationToken.None);
        hypervisor = new ProcessIdentity(started.ProcessId!.Value, ProcessProbe.ReadStartTime(started.ProcessId.Value) ?? 0);

        // The ACPI power button is Stop-Vm's fallback when the agent does not answer.
        await using (var qmp = await QmpClient.ConnectAsync(Path.Combine(created.Directory, "qmp.sock"), CancellationToken.None))
        {
            await qmp.SystemPowerdownAsync(CancellationToken.None);
        }

        Assert.True(await ProcessProbe.WaitForExitAsync(hypervisor.Value, TimeSpan.FromMinutes(1), CancellationToken.None));
        var stopped = await manager.GetAsync(created.Name, CancellationToken.None);
        Assert.Equal(VmState.Stopped, stopped.State);
        Assert.Null(stopped.StatusDetail);
        Assert.Contains("[vmps] poweroff reason=power-button", await File.ReadAllTextAsync(Path.Combine(created.Directory, "console.log")));

        await manager.RemoveAsync(created.Name, force: false, CancellationToken.None);
    }

    [RequiresVmBootFact]
    public async Task CancellingAStartWhileTheGuestBootsKillsTheHypervisorAndLeavesTheVmStopped()
    {
        GuestBinary.Locate();
        var manager = new VmManager(home.Paths);
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = "cancelled", Image = "busybox", MemoryMiB = 128, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);

        // Cancel (Ctrl+C in Start-Vm) once the hypervisor runs: the point where cancelling has the most to undo.
        using var cancellation = new CancellationTokenSource();
        var progress = new CallbackProgress(report =>
        {
            if (report.Status.StartsWith("Waiting for the guest agent", StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            manager.StartAsync(created.Name, new VmStartOptions(), progress, cancellation.Token));

        var vm = await new VmManager(home.Paths).GetAsync(created.Name, CancellationToken.None);
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal("The start was cancelled.", vm.StatusDetail);
        Assert.Null(vm.ProcessId);
        Assert.Empty(HostProcesses.Mentioning(home.Paths.Root));

        await manager.RemoveAsync(created.Name, force: false, CancellationToken.None);
        Assert.False(Directory.Exists(created.Directory));
    }

    public void Dispose()
    {
        // Only on failure is anything still running; never leave a QEMU behind.
        if (hypervisor is { } process && ProcessProbe.IsRunning(process))
        {
            output.WriteLine($"killing leftover hypervisor {process.Pid}");
            ProcessProbe.KillAsync(process, TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; the test wants the reports in order, at once.</summary>
    private sealed class SynchronousProgress(List<VmProgress> reports) : IProgress<VmProgress>
    {
        public void Report(VmProgress value) => reports.Add(value);
    }

    private sealed class CallbackProgress(Action<VmProgress> onReport) : IProgress<VmProgress>
    {
        public void Report(VmProgress value) => onReport(value);
    }
}
