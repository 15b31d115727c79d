using VmPs.Core.Boot;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>A disk image VM booted by real QEMU (TCG) on q35 through Debian's OVMF, with a variable store of its own.</summary>
[Collection(VmBootCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DiskImageBootTests : IDisposable
{
    private static readonly TimeSpan FirmwareDeadline = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(20);
    private readonly ScratchVmManager host = new();

    public void Dispose() => host.Dispose();

    [RequiresOvmfFact]
    public async Task Ovmf_boots_the_vms_overlay_and_keeps_its_boot_entries_in_the_vms_own_variable_store()
    {
        await TestDiskImages.ImportBlankAsync(host.Home.Paths, host.Scratch.Path, "blank", 64 << 20);
        var vm = await host.Manager.CreateAsync(new VmCreateOptions { Name = "uefi", Image = "blank", DiskSizeGiB = 1, MemoryMiB = 256 }, CancellationToken.None);

        var started = await host.Manager.StartAsync("uefi", new VmStartOptions { Timeout = AgentTimeout }, null, CancellationToken.None);

        // A disk with no operating system, so no cloud-init and no agent: Start-Vm returns with the VM running and says so.
        Assert.Equal(VmState.Running, started.State);
        Assert.Contains("agent did not answer within 20 s", started.StatusDetail, StringComparison.Ordinal);
        var console = await ConsoleLogs.WaitForAsync(Path.Combine(vm.Directory, "console.log"), "UEFI Interactive Shell", FirmwareDeadline);
        Assert.Contains("BdsDxe", console, StringComparison.Ordinal);
        var variables = Path.Combine(vm.Directory, "efivars.fd");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(variables));
        await host.Manager.StopAsync("uefi", new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        Assert.Equal(new FileInfo(RequiresOvmfFactAttribute.OvmfVariables).Length, new FileInfo(variables).Length);
        Assert.NotEqual(await File.ReadAllBytesAsync(RequiresOvmfFactAttribute.OvmfVariables), await File.ReadAllBytesAsync(variables));
    }
}
