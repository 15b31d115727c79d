using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// A q35 VM that the VmPs from before vCPU and memory hot-plug launched (its launch settings without BootMemoryMiB
/// and EventLogPath, its machine with every vCPU and all memory built in) is saved by this VmPs after an upgrade and
/// restored under QEMU (TCG): the same boot counts on, on that machine.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SavedStateUpgradeVmTests() : OwnHomeVmTests(Vm)
{
    private const string Vm = "upgraded";

    [RequiresVmBootFact]
    public async Task A_VM_launched_on_the_machine_of_the_VmPs_before_hot_plug_is_saved_and_restored_onto_that_machine()
    {
        await Manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", Cpus = 2, MemoryMiB = 256, MachineType = QemuMachine.Q35 }, CancellationToken.None);
        // A first start writes the VM's boot files and launch settings; the old VmPs wrote the same ones but for two members.
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        await Manager.StopAsync(Vm, new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        var files = new VmFiles((await Manager.GetAsync(Vm, CancellationToken.None)).Directory);
        var settings = JsonNode.Parse(await File.ReadAllTextAsync(files.LaunchSpec))!.AsObject();
        settings.Remove("BootMemoryMiB");
        settings.Remove("EventLogPath");
        var oldSettings = settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        await File.WriteAllTextAsync(files.LaunchSpec, oldSettings);
        await LaunchAsTheOldVmPsDidAsync(oldSettings);

        var bootId = await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id");
        Assert.Equal("2", await Guest.RunAsync("nproc"));
        AssertOldMachine(await QemuArgumentsAsync());
        await Guest.StartCountingAsync();

        var beforeSave = await Guest.CountAsync();
        Assert.Equal(VmState.Saved, (await Manager.SaveAsync(Vm, CancellationToken.None)).State);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(files.SavedState, "manifest.json")))!;
        Assert.DoesNotContain("BootMemoryMiB", manifest["LaunchSpec"]!.GetValue<string>(), StringComparison.Ordinal);

        Assert.Equal(VmState.Running, (await Manager.StartAsync(Vm, Start, null, CancellationToken.None)).State);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        var afterRestore = await Guest.CountAsync();
        Assert.True(afterRestore >= beforeSave, $"the count went from {beforeSave} back to {afterRestore}: not restored");
        await Guest.WaitForCountAboveAsync(afterRestore);
        Assert.Equal("2", await Guest.RunAsync("nproc"));
        AssertOldMachine(await QemuArgumentsAsync());

        // Its vCPUs are built in: a live change says to stop it first, and the guest keeps its two.
        var resize = await Assert.ThrowsAsync<VmPsException>(() => Manager.SetAsync(Vm, new VmSetOptions { Cpus = 3 }, dryRun: false, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.VmResizeNeedsStop, resize.ErrorId);
        Assert.Equal("2", await Guest.RunAsync("nproc"));
    }

    /// <summary>QEMU started from the old launch settings, recorded as the VM's running hypervisor, its agent answering.</summary>
    private async Task LaunchAsTheOldVmPsDidAsync(string oldSettings)
    {
        var report = await HostProbe.ProbeAsync(Home.Paths, CancellationToken.None);
        var driver = new QemuDriver(QemuDriverOptions.ForHost(report, QemuMachine.Q35));
        var instance = await driver.LaunchAsync(VmSavedState.ParseLaunchSpec(oldSettings), CancellationToken.None);
        var store = new VmStore(new StateDatabase(Home.Paths.StateDatabase));
        var vm = (await store.FindByNameAsync(Vm, CancellationToken.None))!;
        await store.UpdateAsync(vm.Id, current => current with { State = VmState.Running, Instance = instance, StartedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
        await using var agent = await AgentReadiness.WaitAsync(
            AgentConnectors.For(instance.Agent), Start.Timeout, () => ProcessProbe.IsRunning(instance.Process), CancellationToken.None);
    }

    private async Task<string[]> QemuArgumentsAsync() =>
        (await File.ReadAllTextAsync($"/proc/{(await Manager.GetAsync(Vm, CancellationToken.None)).ProcessId}/cmdline")).Split('\0');

    /// <summary>The machine of the VmPs before hot-plug: -smp 2 and -m 256M, no vCPU devices, no virtio-mem.</summary>
    private static void AssertOldMachine(string[] arguments)
    {
        Assert.Equal("2", arguments[Array.IndexOf(arguments, "-smp") + 1]);
        Assert.Equal("256M", arguments[Array.IndexOf(arguments, "-m") + 1]);
        Assert.DoesNotContain(arguments, argument => argument.Contains("x86_64-cpu", StringComparison.Ordinal) || argument.Contains("vmem", StringComparison.Ordinal));
    }
}
