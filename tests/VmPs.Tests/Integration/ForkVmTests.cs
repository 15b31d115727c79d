using System.Globalization;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Storage;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Integration;

/// <summary>
/// Forks of a busybox guest booted under QEMU (TCG) on a VmPs network: two forks of one checkpoint run side by side
/// from the checkpoint's memory (the counting loop goes on, the file is the checkpoint's), each with its own
/// hostname, machine-id, MAC and address, reach each other, and answer exec; both map the checkpoint's RAM file
/// copy-on-write, which outlives the checkpoint while they run; Copy-Vm forks the running source; a fork's Save-Vm
/// streams its memory and restores.
/// </summary>
[Collection(VmBootCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ForkVmTests : IAsyncLifetime
{
    private static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };
    private readonly TemporaryVmPsHome home = new();
    private ScratchNamespace? scratch;
    private VmManager manager = null!;

    public async Task InitializeAsync()
    {
        if (RequiresNetworkedVmBootFactAttribute.Reason is not null)
        {
            return;
        }

        scratch = await ScratchNamespace.CreateAsync();
        manager = new VmManager(home.Paths, new VmManagerSettings { NetworkNamespace = scratch.Namespace });
        await manager.Networks.CreateAsync(new NetworkCreateOptions { Name = "forks", Subnet = "10.203.0.0/24" }, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        if (scratch is not null)
        {
            manager.RemoveAllVms();
            scratch.Dispose();
        }

        home.Dispose();
        return Task.CompletedTask;
    }

    [RequiresNetworkedVmBootFact]
    public async Task Forks_of_one_checkpoint_run_side_by_side_each_with_its_own_identity()
    {
        var origin = await manager.CreateAsync(
            new VmCreateOptions { Name = "origin", Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu, Network = new VmNetworkOptions { Network = "forks" } },
            CancellationToken.None);
        await manager.StartAsync("origin", Start, null, CancellationToken.None);
        var source = new CountingGuest(manager, "origin");
        Assert.Equal(origin.Id.ToString("N"), await source.RunAsync("cat /etc/machine-id"));
        await source.RunAsync("mkdir -p /srv && echo origin > /srv/note && sync");
        await source.StartCountingAsync();
        await manager.CheckpointAsync("origin", "cp1", CancellationToken.None);
        var atCheckpoint = await source.CountAsync();

        var forks = new List<VmInfo>();
        foreach (var name in new[] { "fork1", "fork2" })
        {
            var fork = await manager.ForkAsync("origin", "cp1", name, CancellationToken.None);
            Assert.Equal(VmState.Saved, fork.State);
            Assert.Equal("forks", fork.Network);
            forks.Add(fork);
        }

        await Task.WhenAll(forks.Select(fork => manager.StartAsync(fork.Name, Start, null, CancellationToken.None)));
        Assert.Equal(3, new[] { origin.IPAddress, forks[0].IPAddress, forks[1].IPAddress }.Distinct().Count());
        Assert.Equal(3, new[] { origin.MacAddress, forks[0].MacAddress, forks[1].MacAddress }.Distinct().Count());
        foreach (var fork in forks)
        {
            var guest = new CountingGuest(manager, fork.Name);
            Assert.Equal(fork.Name, await guest.RunAsync("hostname"));
            Assert.Equal(fork.Id.ToString("N"), await guest.RunAsync("cat /etc/machine-id"));
            Assert.Equal(fork.MacAddress, await guest.RunAsync("cat /sys/class/net/eth0/address"), ignoreCase: true);
            Assert.Contains($"inet {fork.IPAddress}/24", await guest.RunAsync("ip -4 addr show eth0"));
            // The metadata service came over in the checkpoint's memory too, and now serves the fork's own data.
            Assert.Equal("i-" + fork.Id.ToString("N")[..17], await guest.RunAsync("wget -qO- http://169.254.169.254/latest/meta-data/instance-id"));
            Assert.Equal(fork.IPAddress, await guest.RunAsync("wget -qO- http://169.254.169.254/latest/meta-data/local-ipv4"));
            Assert.Equal("origin", await guest.RunAsync("cat /srv/note"));
            // The counting loop came over in the checkpoint's memory and runs on.
            await guest.WaitForCountAboveAsync(atCheckpoint);
        }

        // Both forks run on the checkpoint's RAM file, mapped copy-on-write: no private copy of the guest's memory.
        var checkpointMemory = Path.Combine(home.Paths.VmDirectory(origin.Id.ToString("N")), "checkpoints", "cp1", "state", "memory.ram");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(checkpointMemory));
        foreach (var fork in forks)
        {
            Assert.True(await MapsPrivatelyAsync(fork.Name, checkpointMemory), $"{fork.Name}'s QEMU maps the checkpoint's RAM file");
        }

        Assert.False(await MapsPrivatelyAsync("origin", checkpointMemory));

        Assert.NotEqual(
            await new CountingGuest(manager, "fork1").RunAsync("head -c 16 /dev/urandom | od -An -tx1"),
            await new CountingGuest(manager, "fork2").RunAsync("head -c 16 /dev/urandom | od -An -tx1"));
        await new CountingGuest(manager, "fork1").RunAsync($"ping -c 1 -W 5 {forks[1].IPAddress}");
        await source.RunAsync($"ping -c 1 -W 5 {forks[0].IPAddress}");

        // Copy-Vm: a checkpoint of the running source, forked and removed; the source runs on.
        var copy = await manager.CopyAsync("origin", "copy", CancellationToken.None);
        Assert.Equal(VmState.Saved, copy.State);
        Assert.Equal(VmState.Running, (await manager.GetAsync("origin", CancellationToken.None)).State);
        Assert.Equal(["cp1"], (await manager.GetCheckpointsAsync("origin", CancellationToken.None)).Select(c => c.Name));
        await manager.StartAsync("copy", Start, null, CancellationToken.None);
        Assert.Equal("copy", await new CountingGuest(manager, "copy").RunAsync("hostname"));
        Assert.Equal("origin", await source.RunAsync("hostname"));

        // A removed checkpoint's RAM file lives on for the forks that map it.
        var inode = UnixFileType.Inode(checkpointMemory);
        await manager.RemoveCheckpointAsync("origin", "cp1", CancellationToken.None);
        Assert.False(File.Exists(checkpointMemory));
        foreach (var fork in forks)
        {
            var guest = new CountingGuest(manager, fork.Name);
            await guest.RunAsync("dd if=/dev/urandom of=/dev/null bs=1M count=8 2>/dev/null");
            Assert.Equal(fork.Name, await guest.RunAsync("hostname"));
            Assert.Contains($" {inode} ", await File.ReadAllTextAsync($"/proc/{(await manager.GetAsync(fork.Name, CancellationToken.None)).ProcessId}/maps"));
        }

        // A fork on a private mapping has no RAM file of its own to copy: Save-Vm streams its memory (the layout of the
        // states saved before Save-Vm kept RAM files), and Start-Vm restores that onto a shared file of the fork's own.
        var fork1 = new CountingGuest(manager, "fork1");
        var beforeSave = await fork1.CountAsync();
        var saved = await manager.SaveAsync("fork1", CancellationToken.None);
        Assert.False(File.Exists(Path.Combine(saved.Directory, "saved", "memory.ram")));
        Assert.True(new FileInfo(Path.Combine(saved.Directory, "saved", "memory.bin")).Length > 16L << 20, "the stream holds the fork's memory");
        await manager.StartAsync("fork1", Start, null, CancellationToken.None);
        await fork1.WaitForCountAboveAsync(beforeSave);
        Assert.Equal("fork1", await fork1.RunAsync("hostname"));
        Assert.True(File.Exists(QemuGuestMemory.RunningFile(saved.Directory)), "the restored fork runs on a RAM file of its own");
    }

    /// <summary>Whether the VM's QEMU has <paramref name="path"/>'s inode mapped privately (copy-on-write).</summary>
    private async Task<bool> MapsPrivatelyAsync(string vm, string path)
    {
        var pid = (await manager.GetAsync(vm, CancellationToken.None)).ProcessId;
        var inode = UnixFileType.Inode(path)!.Value.ToString(CultureInfo.InvariantCulture);
        return (await File.ReadAllLinesAsync($"/proc/{pid}/maps"))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length >= 6 && fields[4] == inode && fields[1].EndsWith('p'));
    }
}
