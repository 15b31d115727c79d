using System.Collections.Concurrent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// New-Vm, Start-Vm, Stop-Vm and Remove-Vm killed (SIGKILL, at a crash point) at each of their steps in a process of
/// their own, as a pwsh session would be, on a VM with a network adapter and a published port; and a hypervisor
/// killed under a running VM. The next call (Get-Vm, or Remove-Vm again for a half-removed VM) repairs: the VM is
/// Stopped (or gone), and nothing is left that the interrupted command made: no process mentioning the state
/// directory, no TAP, no firewall rule or network row beyond those of the VMs that exist, no sockets or pid file, no
/// directory or marker without its VM. Then the same command succeeds (Start-Vm finds no QEMU holding the disks). QEMU
/// runs without waiting for a guest, so these are in the boot collection but boot nothing to the end.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class VmCrashRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int SigKillExitCode = 137;
    private const string Network = "crash";
    private static readonly ConcurrentDictionary<string, (int Injected, int Repaired)> Figures = new();
    /// <summary>What a VM keeps once it has run: its disks, its logs (QEMU's event log and that monitor's input among them), its launch settings.</summary>
    private static readonly HashSet<string> StoppedVmFiles =
        ["overlay.ext4", "config.img", "console.log", "hypervisor.log", "app.log", "qmp-events.log", "qmp-events.in", "launch.json", "disk.lock"];

    private NetworkTestHost host = null!;
    private VmManager manager = null!;

    public static TheoryData<string, string> Steps => new()
    {
        { "New-Vm", VmManager.CrashAfterOverlay },
        { "New-Vm", VmManager.CrashAfterInsert },
        { "New-Vm", VmManager.CrashAfterAttach },
        { "Start-Vm", VmBoot.CrashAfterPlug },
        { "Start-Vm", DetachedProcess.CrashBeforeRecord(VmLogKeeper.PidFileName) },
        { "Start-Vm", DetachedProcess.CrashAfterSpawn(VmLogKeeper.PidFileName) },
        { "Start-Vm", DetachedProcess.CrashBeforeRecord(VmLaunchSpec.PidFileName) },
        { "Start-Vm", DetachedProcess.CrashAfterSpawn(VmLaunchSpec.PidFileName) },
        { "Start-Vm", VmBoot.CrashAfterLaunch },
        { "Start-Vm", VmBoot.CrashAfterRecord },
        { "Stop-Vm", VmShutdown.CrashAfterStopping },
        { "Stop-Vm", VmShutdown.CrashAfterKill },
        { "Stop-Vm", VmShutdown.CrashAfterUnplug },
        { "Remove-Vm", VmManager.CrashAfterRelease },
        { "Remove-Vm", VmManager.CrashAfterDelete },
    };

    public async Task InitializeAsync()
    {
        if (NetworkTestPrerequisites.SkipReason() is not null)
        {
            return;
        }

        host = await NetworkTestHost.CreateAsync();
        manager = VmTestHost.Manager(host.Home.Paths, network: host.Scratch.Namespace);
        await host.CreateNetworkAsync(Network, "10.213.0.0/24");
    }

    public Task DisposeAsync()
    {
        host?.Scratch.Dispose();
        host?.Home.Dispose();
        return Task.CompletedTask;
    }

    [RequiresNetworkedVmTheory]
    [MemberData(nameof(Steps))]
    public async Task ACommandKilledAtAStepIsRepairedByTheNextCall(string cmdlet, string step)
    {
        var (command, vmExists) = cmdlet switch
        {
            "New-Vm" => ($"create vm {Network}", false),
            "Start-Vm" => ("start vm", true),
            "Stop-Vm" => ("stop vm", true),
            _ => ("remove vm", true),
        };
        var withoutVm = await HostStateAsync();
        if (vmExists)
        {
            await CreateAsync();
        }

        var withStoppedVm = await HostStateAsync();

        if (cmdlet == "Stop-Vm")
        {
            await manager.StartAsync("vm", new VmStartOptions { WaitForAgent = false }, null, CancellationToken.None);
        }

        var (exitCode, childOutput) = await VmCommandChild.RunAsync(host.Home.Paths, host.Scratch.Name, command, step);
        Assert.True(exitCode == SigKillExitCode, $"{cmdlet} was not killed at '{step}' (exit code {exitCode}): {childOutput}");
        output.WriteLine($"{cmdlet} killed at '{step}': left {Describe(await HostStateAsync())}");

        var next = VmTestHost.Manager(host.Home.Paths, network: host.Scratch.Namespace);
        var seen = await next.GetAllAsync(CancellationToken.None);
        if (cmdlet == "Remove-Vm" && seen.Count == 1)
        {
            await next.RemoveAsync("vm", force: false, CancellationToken.None);
        }

        var expectVm = cmdlet is "Start-Vm" or "Stop-Vm";
        var vms = await next.GetAllAsync(CancellationToken.None);
        Assert.Equal(expectVm ? [VmState.Stopped] : [], vms.Select(vm => vm.State));
        Assert.Equal(expectVm ? withStoppedVm : withoutVm, await HostStateAsync());
        Record(cmdlet);

        await ProveTheCommandWorksAgainAsync(cmdlet, next);
        output.WriteLine($"{cmdlet}: repaired by the next call; {string.Join(", ", Figures.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key} {pair.Value.Repaired}/{pair.Value.Injected}"))} repaired/injected so far");
    }

    [RequiresNetworkedVmFact]
    public async Task AHypervisorKilledUnderARunningVmIsCrashedAndTheNextStartFindsItsDisksFree()
    {
        const string fault = "hypervisor kill";
        await CreateAsync();
        var before = await HostStateAsync();
        var started = await manager.StartAsync("vm", new VmStartOptions { WaitForAgent = false }, null, CancellationToken.None);
        var hypervisor = new ProcessIdentity(started.ProcessId!.Value, ProcessProbe.ReadStartTime(started.ProcessId.Value)!.Value);

        await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(10), CancellationToken.None);
        Figures.AddOrUpdate(fault, (1, 0), (_, figure) => (figure.Injected + 1, figure.Repaired));

        var next = VmTestHost.Manager(host.Home.Paths, network: host.Scratch.Namespace);
        Assert.Equal(VmState.Crashed, (await next.GetAsync("vm", CancellationToken.None)).State);
        await next.StopAsync("vm", new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        Assert.Equal(before, await HostStateAsync());
        Figures.AddOrUpdate(fault, (0, 1), (_, figure) => (figure.Injected, figure.Repaired + 1));
        await ProveTheCommandWorksAgainAsync("Start-Vm", next);
        output.WriteLine($"{fault}: the VM was Crashed, its TAP went with the next Stop-Vm, the next Start-Vm booted it; 1/1 repaired/injected");
    }

    /// <summary>
    /// Start-Vm rolls back a hypervisor that dies while the start waits for the agent: nothing of the attempt stays in
    /// the VM directory (the agent port's lock, taken by the readiness poll, was left behind), nor on the host.
    /// </summary>
    [RequiresNetworkedVmFact]
    public async Task AHypervisorKilledWhileStartVmWaitsForTheAgentLeavesNothingBehind()
    {
        const string fault = "hypervisor kill during Start-Vm";
        await CreateAsync();
        var before = await HostStateAsync();
        var directory = Directory.EnumerateDirectories(host.Home.Paths.VmsDirectory).Single();
        var starting = manager.StartAsync("vm", new VmStartOptions { Timeout = TimeSpan.FromMinutes(5) }, null, CancellationToken.None);

        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.Exists(Path.Combine(directory, "agent.sock.lock")) && !starting.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(File.Exists(Path.Combine(directory, "agent.sock.lock")), "Start-Vm never polled the agent port.");
        var hypervisor = PidFile.Read(Path.Combine(directory, VmLaunchSpec.PidFileName)) ?? throw new InvalidOperationException("Start-Vm recorded no hypervisor.");
        await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(10), CancellationToken.None);
        Figures.AddOrUpdate(fault, (1, 0), (_, figure) => (figure.Injected + 1, figure.Repaired));

        await Assert.ThrowsAsync<VmPs.Core.VmPsException>(() => starting);
        Assert.Equal(before, await HostStateAsync());
        Figures.AddOrUpdate(fault, (0, 1), (_, figure) => (figure.Injected, figure.Repaired + 1));
        await ProveTheCommandWorksAgainAsync("Start-Vm", manager);
        output.WriteLine($"{fault}: the start failed and rolled back, nothing left in the VM directory; 1/1 repaired/injected");
    }

    [RequiresNetworkedVmFact]
    public async Task TheRepairOfAKilledStartEndsItsHypervisorButNotAUsersReaderOfTheVmsConsoleLog()
    {
        await CreateAsync();
        var directory = (await manager.GetAsync("vm", CancellationToken.None)).Directory;
        var (exitCode, childOutput) = await VmCommandChild.RunAsync(host.Home.Paths, host.Scratch.Name, "start vm", DetachedProcess.CrashBeforeRecord(VmLaunchSpec.PidFileName));
        Assert.True(exitCode == SigKillExitCode, $"Start-Vm was not killed (exit code {exitCode}): {childOutput}");
        Assert.NotEmpty(ProcessProbe.FindDetachedFor(directory));

        using var reader = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("tail", ["-f", Path.Combine(directory, "console.log")]) { WorkingDirectory = directory })!;
        try
        {
            var next = VmTestHost.Manager(host.Home.Paths, network: host.Scratch.Namespace);
            Assert.Equal([VmState.Stopped], (await next.GetAllAsync(CancellationToken.None)).Select(vm => vm.State));
            Assert.Empty(ProcessProbe.FindDetachedFor(directory));
            Assert.False(reader.HasExited, "the repair killed a user's tail -f of the console log");
        }
        finally
        {
            reader.Kill();
            await reader.WaitForExitAsync();
        }

        await manager.RemoveAsync("vm", force: true, CancellationToken.None);
    }

    private Task CreateAsync() => manager.CreateAsync(
        new VmCreateOptions
        {
            Name = "vm",
            Image = "busybox",
            Network = new VmNetworkOptions
            {
                Network = Network,
                PublishedPorts = [new VmPs.Core.Network.PortMappingOptions { HostPort = VmCommandChild.PublishedHostPort, VmPort = 80 }],
            },
        },
        CancellationToken.None);

    /// <summary>The command the fault interrupted, run again to its end, and undone: the host is as before it.</summary>
    private async Task ProveTheCommandWorksAgainAsync(string cmdlet, VmManager next)
    {
        var before = await HostStateAsync();
        if (cmdlet is "New-Vm" or "Remove-Vm")
        {
            await CreateAsync();
            await next.RemoveAsync("vm", force: false, CancellationToken.None);
        }
        else
        {
            var running = await next.StartAsync("vm", new VmStartOptions { WaitForAgent = false }, null, CancellationToken.None);
            Assert.Equal(VmState.Running, running.State);
            await next.StopAsync("vm", new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        }

        Assert.Equal(before, await HostStateAsync());
    }

    private static void Record(string cmdlet) => Figures.AddOrUpdate(cmdlet, (1, 1), (_, figure) => (figure.Injected + 1, figure.Repaired + 1));

    /// <summary>Everything a VM command can leave on the host, one line per item, for before/after comparisons.</summary>
    private async Task<List<string>> HostStateAsync()
    {
        var state = new List<string>();
        state.AddRange(HostProcesses.Mentioning(host.Home.Paths.Root).Select(pid => $"process {pid}"));
        state.AddRange((await host.Scratch.LinkNamesAsync()).Order(StringComparer.Ordinal).Select(link => $"link {link}"));
        state.AddRange(await host.NetworkRowsAsync());
        state.Add($"firewall {await host.FirewallStateAsync()}");
        var vms = host.Home.Paths.VmsDirectory;
        if (Directory.Exists(vms))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(vms).Order(StringComparer.Ordinal))
            {
                state.Add($"vms/{Path.GetFileName(entry)}");
                if (Directory.Exists(entry))
                {
                    state.AddRange(Directory.EnumerateFileSystemEntries(entry)
                        .Select(Path.GetFileName)
                        .Where(name => !StoppedVmFiles.Contains(name!))
                        .Order(StringComparer.Ordinal)
                        .Select(name => $"vms/{Path.GetFileName(entry)}/{name}"));
                }
            }
        }

        return state;
    }

    private static string Describe(List<string> state)
    {
        var notable = state.Where(line => !line.StartsWith("firewall ", StringComparison.Ordinal) && !line.StartsWith("link ", StringComparison.Ordinal)
            && !line.StartsWith("networks: ", StringComparison.Ordinal)).ToList();
        return notable.Count == 0 ? "nothing" : string.Join("; ", notable);
    }
}
