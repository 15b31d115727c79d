using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Integration;

/// <summary>Volumes hot-plugged into and out of a running q35 VM under QEMU (TCG): mounted by the agent, refused while open, forced out.</summary>
[Collection(VmBootCollection.Name)]
public sealed class VolumeHotplugVmTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly TemporaryVmPsHome home = new();
    private readonly VmPsServices services;

    public VolumeHotplugVmTests()
    {
        services = new VmPsServices(new VmPsSettings(home.Paths.Root, null, null));
    }

    public void Dispose()
    {
        services.Vms.RemoveAllVms();
        home.Dispose();
    }

    [RequiresVmBootFact]
    public async Task A_volume_is_hot_plugged_written_refused_while_open_forced_out_and_plugged_again_read_only()
    {
        var volumes = services.Volumes;
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 32 * MiB }, CancellationToken.None);
        await services.Vms.CreateAsync(
            new VmCreateOptions { Name = "hp", Image = "busybox", MemoryMiB = 256, MachineType = QemuMachine.Q35 },
            CancellationToken.None);
        await services.Vms.StartAsync("hp", new VmStartOptions { Timeout = TimeSpan.FromMinutes(5) }, null, CancellationToken.None);

        var attached = await volumes.MountAsync("hp", new VolumeAttachOptions("data", "/srv/data"), CancellationToken.None);
        Assert.Equal(["hp"], attached.AttachedTo);
        Assert.Equal("hot", await RunAsync("echo hot > /srv/data/file && sync && cat /srv/data/file"));

        // A process working in the volume keeps it mounted: a plain dismount is refused and changes nothing.
        await using var holder = await services.Vms.StartExecAsync("hp", new VmExecOptions { Command = ["sh", "-c", "cd /srv/data && echo in && exec sleep 600"] }, CancellationToken.None);
        await using (var lines = holder.ReadLinesAsync(CancellationToken.None).GetAsyncEnumerator())
        {
            Assert.True(await lines.MoveNextAsync());
        }

        var busy = await Assert.ThrowsAsync<VmPsException>(() => volumes.DismountAsync("hp", "data", force: false, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.GuestVolumeBusy, busy.ErrorId);
        Assert.Equal(["hp"], (await volumes.GetAsync("data", CancellationToken.None)).AttachedTo);
        Assert.Equal("hot", await RunAsync("cat /srv/data/file"));

        // -Force unmounts lazily and unplugs: the guest has neither the mount nor the disk any more.
        var findDisk = $"grep -l {"vmps-v" + attached.Id.ToString("N")[..14]} /sys/block/*/serial | wc -l";
        Assert.Equal("1", await RunAsync(findDisk));
        var detached = await volumes.DismountAsync("hp", "data", force: true, CancellationToken.None);
        Assert.Empty(detached.AttachedTo);
        await holder.KillAsync();
        Assert.Equal("0", await RunAsync("grep -c ' /srv/data ' /proc/mounts || true"));
        Assert.Equal("0", await RunAsync(findDisk));

        // Plugged again, read-only, elsewhere: the data written before the unplug is there, and writes are refused.
        await volumes.MountAsync("hp", new VolumeAttachOptions("data", "/mnt/again", ReadOnly: true), CancellationToken.None);
        Assert.Equal("hot", await RunAsync("cat /mnt/again/file"));
        var write = await services.Vms.ExecAsync("hp", new VmExecOptions { Command = ["sh", "-c", "echo x > /mnt/again/other"] }, CancellationToken.None);
        Assert.NotEqual(0, write.ExitCode);
        await volumes.DismountAsync("hp", "data", force: false, CancellationToken.None);
        Assert.Equal("0", await RunAsync("grep -c ' /mnt/again ' /proc/mounts || true"));

        await services.Vms.StopAsync("hp", new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
    }

    private async Task<string> RunAsync(string script)
    {
        var result = await services.Vms.ExecAsync("hp", new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"'{script}' exited {result.ExitCode}: {result.Stderr}");
        return result.Stdout.Trim();
    }
}
