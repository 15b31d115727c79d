using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>Volumes in real guests booted under QEMU (TCG): mounted by serial before the command, moved between VMs, shared read-only, copied and grown.</summary>
[Collection(VmBootCollection.Name)]
public sealed class VolumeVmTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();
    private readonly VmManager manager;

    public VolumeVmTests()
    {
        manager = new VmManager(home.Paths);
    }

    public void Dispose()
    {
        manager.RemoveAllVms();
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresVmBootFact]
    public async Task Volumes_survive_a_hypervisor_kill_move_between_VMs_are_shared_read_only_copied_and_grown()
    {
        var seed = Directory.CreateDirectory(scratch.Combine("seed")).FullName;
        await File.WriteAllTextAsync(Path.Combine(seed, "seed.txt"), "seeded on the host");
        var assets = Directory.CreateDirectory(scratch.Combine("assets")).FullName;
        await File.WriteAllTextAsync(Path.Combine(assets, "logo.txt"), "shared asset");
        var volumes = manager.Volumes;
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64 * MiB, FromPath = seed }, CancellationToken.None);
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "assets", SizeBytes = 32 * MiB, FromPath = assets }, CancellationToken.None);

        // VM a: the volume built from a directory is mounted before the command starts; synced data survives kill -9.
        await CreateAsync("a", "data:/srv/data", "assets:/assets:ro");
        var a = await manager.StartAsync("a", Start, null, CancellationToken.None);
        Assert.Equal("seeded on the host", await RunAsync("a", "cat /srv/data/seed.txt"));
        Assert.Equal("shared asset", await RunAsync("a", "cat /assets/logo.txt"));
        await RunAsync("a", "echo written-in-a > /srv/data/new.txt && sync");
        var readOnlyWrite = await manager.ExecAsync("a", new VmExecOptions { Command = ["sh", "-c", "echo x > /assets/y"] }, CancellationToken.None);
        Assert.NotEqual(0, readOnlyWrite.ExitCode);
        Assert.Contains("Read-only", readOnlyWrite.Stderr, StringComparison.OrdinalIgnoreCase);
        var hypervisor = new ProcessIdentity(a.ProcessId!.Value, ProcessProbe.ReadStartTime(a.ProcessId.Value) ?? 0);
        await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(VmState.Crashed, (await manager.GetAsync("a", CancellationToken.None)).State);

        // The writable volume moves to VM b; both VMs run with the read-only volume at once.
        await volumes.DismountAsync("a", "data", force: false, CancellationToken.None);
        await CreateAsync("b", "assets:/assets:ro");
        await volumes.MountAsync("b", new VolumeAttachOptions("data", "/mnt/data"), CancellationToken.None);
        await Task.WhenAll(manager.StartAsync("a", Start, null, CancellationToken.None), manager.StartAsync("b", Start, null, CancellationToken.None));
        Assert.Equal("written-in-a", await RunAsync("b", "cat /mnt/data/new.txt"));
        Assert.Equal("shared asset", await RunAsync("a", "cat /assets/logo.txt"));
        Assert.Equal("shared asset", await RunAsync("b", "cat /assets/logo.txt"));
        var running = await Assert.ThrowsAsync<VmPs.Core.VmPsException>(() => volumes.DismountAsync("b", "data", force: false, CancellationToken.None));
        Assert.Contains("stop the VM first", running.Message);
        await StopAsync("a", "b");

        // A copy (a qcow2 over a frozen base here) boots with the data; a grown volume shows its new size in the guest.
        var copy = await volumes.CopyAsync("data", "data-copy", CancellationToken.None);
        Assert.NotEqual(CopyMethod.FullCopy, copy.Method);
        await volumes.MountAsync("a", new VolumeAttachOptions("data-copy", "/copy"), CancellationToken.None);
        await volumes.ResizeAsync("data", 256 * MiB, CancellationToken.None);
        await Task.WhenAll(manager.StartAsync("a", Start, null, CancellationToken.None), manager.StartAsync("b", Start, null, CancellationToken.None));
        Assert.Equal("written-in-a", await RunAsync("a", "cat /copy/new.txt"));
        var sizeKiB = long.Parse(await RunAsync("b", "df -k /mnt/data | tail -1 | awk '{print $2}'"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(sizeKiB > 200 * 1024, $"the guest sees {sizeKiB} KiB");
        await StopAsync("a", "b");
    }

    private Task<VmInfo> CreateAsync(string name, params string[] volumes) => manager.CreateAsync(
        new VmCreateOptions
        {
            Name = name,
            Image = "busybox",
            MemoryMiB = 256,
            Hypervisor = HypervisorKind.Qemu,
            Volumes = volumes.Select(VolumeValidation.ParseAttachment).ToList(),
        },
        CancellationToken.None);

    private async Task<string> RunAsync(string vm, string script)
    {
        var result = await manager.ExecAsync(vm, new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"'{script}' in {vm} exited {result.ExitCode}: {result.Stderr}");
        return result.Stdout.Trim();
    }

    private async Task StopAsync(params string[] vms)
    {
        foreach (var vm in vms)
        {
            await manager.StopAsync(vm, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        }
    }
}
