using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// One real boot of a registry-pulled image: pulled with New-VmImage's pipeline, booted under QEMU (TCG) with
/// the host's kernel, its entrypoint running, a command run through the agent sees both layers.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class PulledImageBootTests : IClassFixture<OpenRegistry>, IDisposable
{
    private const string VmName = "pulled";

    private readonly OpenRegistry registry;
    private readonly ITestOutputHelper output;
    private readonly TemporaryVmPsHome home = new();
    private ProcessIdentity? hypervisor;

    public PulledImageBootTests(OpenRegistry registry, ITestOutputHelper output)
    {
        this.registry = registry;
        this.output = output;
    }

    [RequiresVmBootFact]
    public async Task APulledImageBootsAndRunsCommandsAndCannotBeRemovedWhileItsVmExists()
    {
        GuestBinary.Locate();
        await registry.PushImageAsync("team/bootable", "v1", [PipelineTestImages.BusyboxLayer(), PipelineTestImages.SecondLayer()], PipelineTestImages.Config);
        var images = new ImageManager(home.Paths);
        var image = await images.AddAsync(
            new RegistryImageSource(registry.Reference("team/bootable", "v1"), null, OciPlatform.Default, insecure: false),
            new ImageAddOptions(),
            null,
            CancellationToken.None);
        var manager = new VmManager(home.Paths);
        await manager.CreateAsync(
            new VmCreateOptions { Name = VmName, Image = image.Name, MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);

        var started = await manager.StartAsync(VmName, new VmStartOptions(), null, CancellationToken.None);
        hypervisor = new ProcessIdentity(started.ProcessId!.Value, ProcessProbe.ReadStartTime(started.ProcessId.Value) ?? 0);

        var layer2 = await manager.ExecAsync(VmName, new VmExecOptions { Command = ["cat", $"/{PipelineTestImages.Layer2File}"] }, CancellationToken.None);
        Assert.Equal(0, layer2.ExitCode);
        Assert.Equal(PipelineTestImages.Layer2Content, layer2.Stdout);
        var whitedOut = await manager.ExecAsync(VmName, new VmExecOptions { Command = ["test", "-e", $"/{PipelineTestImages.WhitedOutFile}"] }, CancellationToken.None);
        Assert.Equal(1, whitedOut.ExitCode);
        // The entrypoint starts once the guest has loaded the modules the agent did not need (after Start-Vm returns).
        var entrypoint = await manager.ExecAsync(
            VmName,
            new VmExecOptions { Command = ["sh", "-c", "until ps | grep -q '[/]bin/sleep 86400'; do sleep 0.1; done; ps"], Timeout = TimeSpan.FromMinutes(1) },
            CancellationToken.None);
        Assert.Contains("/bin/sleep 86400", entrypoint.Stdout);

        var inUse = await Assert.ThrowsAsync<VmPsException>(() => images.RemoveAsync(image.Name, force: false, CancellationToken.None));
        Assert.Equal("ImageInUse", inUse.ErrorId);

        await manager.StopAsync(VmName, new VmStopOptions(), CancellationToken.None);
        await manager.RemoveAsync(VmName, force: false, CancellationToken.None);
        await images.RemoveAsync(image.Name, force: false, CancellationToken.None);
        Assert.Empty(await images.GetAllAsync(CancellationToken.None));
    }

    public void Dispose()
    {
        // Only on failure is anything still running; never leave a QEMU behind.
        if (hypervisor is { } process && ProcessProbe.IsRunning(process))
        {
            output.WriteLine($"killing leftover hypervisor {process.Pid}");
            ProcessProbe.KillAsync(process, TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }

        home.Dispose();
    }
}
