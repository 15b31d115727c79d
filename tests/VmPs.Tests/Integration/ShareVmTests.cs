using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// One busybox VM booted under QEMU (TCG) with two host directory shares, a writable one and a read-only one, served by
/// the real virtiofsd, shared by the tests of <see cref="ShareVmTests"/>.
/// </summary>
public sealed class SharedDirectoriesVm : IAsyncLifetime
{
    public const string Name = "shares";
    public const string WritablePath = "/srv/share";
    public const string ReadOnlyPath = "/srv/ro";

    public static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };

    public TemporaryVmPsHome Home { get; } = new();

    public ScratchDirectory Scratch { get; } = new();

    public VmManager Manager { get; private set; } = null!;

    public string Writable => Scratch.Combine("rw");

    public string ReadOnly => Scratch.Combine("ro");

    public bool Booted { get; private set; }

    public async Task InitializeAsync()
    {
        if (new RequiresVmBootFactAttribute().Skip is not null)
        {
            return;
        }

        Directory.CreateDirectory(Writable);
        Directory.CreateDirectory(ReadOnly);
        await File.WriteAllTextAsync(Path.Combine(ReadOnly, "fixed.txt"), "read-only content");
        Manager = new VmManager(Home.Paths);
        await Manager.CreateAsync(
            new VmCreateOptions
            {
                Name = Name,
                Image = "busybox",
                MemoryMiB = 256,
                Hypervisor = HypervisorKind.Qemu,
                Shares = [ShareValidation.Parse($"{Writable}:{WritablePath}"), ShareValidation.Parse($"{ReadOnly}:{ReadOnlyPath}:ro")],
            },
            CancellationToken.None);
        await Manager.StartAsync(Name, Start, null, CancellationToken.None);
        Booted = true;
    }

    public async Task DisposeAsync()
    {
        try
        {
            Manager?.RemoveAllVms();
        }
        finally
        {
            foreach (var pid in HostProcesses.Mentioning(Home.Paths.Root))
            {
                await ProcessProbe.KillAsync(new ProcessIdentity(pid, 0), TimeSpan.FromSeconds(5), CancellationToken.None);
            }

            Home.Dispose();
            Scratch.Dispose();
        }
    }
}

/// <summary>
/// Host directory shares (New-Vm -Share) in a real guest: virtio-fs through virtiofsd, seen from both sides at once,
/// read-only enforced by the guest's mount and by the host, memory saves refused up front, virtiofsd gone with the VM
/// and with a Start-Vm killed while it ran.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class ShareVmTests(SharedDirectoriesVm fixture) : IClassFixture<SharedDirectoriesVm>
{
    [RequiresVmBootFact]
    public async Task A_file_written_on_either_side_is_read_on_the_other_at_once()
    {
        var id = Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(Path.Combine(fixture.Writable, $"host-{id}.txt"), "from the host");
        Assert.Equal("from the host", await RunAsync($"cat {SharedDirectoriesVm.WritablePath}/host-{id}.txt"));

        await RunAsync($"echo from the guest > {SharedDirectoriesVm.WritablePath}/guest-{id}.txt");
        Assert.Equal("from the guest\n", await File.ReadAllTextAsync(Path.Combine(fixture.Writable, $"guest-{id}.txt")));

        // A change to a file the guest has read already is seen at once too (cache=none).
        await File.WriteAllTextAsync(Path.Combine(fixture.Writable, $"host-{id}.txt"), "changed on the host");
        Assert.Equal("changed on the host", await RunAsync($"cat {SharedDirectoriesVm.WritablePath}/host-{id}.txt"));
    }

    [RequiresVmBootFact]
    public async Task A_read_only_share_refuses_guest_writes_in_the_guest_and_on_the_host()
    {
        Assert.Equal("read-only content", await RunAsync($"cat {SharedDirectoriesVm.ReadOnlyPath}/fixed.txt"));
        var write = await ExecAsync($"echo x > {SharedDirectoriesVm.ReadOnlyPath}/new.txt");
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("Read-only", write.Stderr, StringComparison.OrdinalIgnoreCase);

        // Root in the guest may remount it writable; the host's read-only bind under virtiofsd still refuses.
        var remounted = await ExecAsync(
            $"mount -o remount,rw {SharedDirectoriesVm.ReadOnlyPath} && echo x > {SharedDirectoriesVm.ReadOnlyPath}/new.txt");
        Assert.NotEqual(0, remounted.ExitCode);
        Assert.False(File.Exists(Path.Combine(fixture.ReadOnly, "new.txt")), "the guest wrote into the read-only share");
        Assert.Equal(["fixed.txt"], Directory.EnumerateFileSystemEntries(fixture.ReadOnly).Select(Path.GetFileName));
    }

    [RequiresVmBootFact]
    public async Task Save_and_a_memory_checkpoint_are_refused_up_front_and_the_VM_runs_on()
    {
        var save = await Assert.ThrowsAsync<VmPsException>(() => fixture.Manager.SaveAsync(SharedDirectoriesVm.Name, CancellationToken.None));
        var checkpoint = await Assert.ThrowsAsync<VmPsException>(() => fixture.Manager.CheckpointAsync(SharedDirectoriesVm.Name, "c1", CancellationToken.None));

        Assert.Equal(VmPsErrorIds.VmSharesNotSavable, save.ErrorId);
        Assert.Equal(VmPsErrorIds.VmSharesNotSavable, checkpoint.ErrorId);
        Assert.Equal(SharedDirectoriesVm.Name, save.Target);
        var vm = await fixture.Manager.GetAsync(SharedDirectoriesVm.Name, CancellationToken.None);
        Assert.Equal(VmState.Running, vm.State);
        var directory = fixture.Home.Paths.VmDirectory(vm.Id.ToString("N"));
        Assert.False(Directory.Exists(Path.Combine(directory, "saved.partial")));
        Assert.False(Directory.Exists(Path.Combine(directory, "checkpoints")) && Directory.EnumerateFileSystemEntries(Path.Combine(directory, "checkpoints")).Any());
        Assert.Equal("read-only content", await RunAsync($"cat {SharedDirectoriesVm.ReadOnlyPath}/fixed.txt"));
    }

    [RequiresVmBootFact]
    public async Task Stop_Vm_leaves_no_virtiofsd_and_a_start_killed_while_virtiofsd_ran_is_repaired()
    {
        var vm = await fixture.Manager.GetAsync(SharedDirectoriesVm.Name, CancellationToken.None);
        var directory = fixture.Home.Paths.VmDirectory(vm.Id.ToString("N"));
        // virtiofsd forks into its sandbox: each share has a process pair serving its socket.
        Assert.Equal(
            ["vmps-share0.sock", "vmps-share1.sock"],
            HostProcesses.Mentioning(directory + "/").Where(IsVirtiofsd).Select(SocketOf).Distinct().Order());

        await fixture.Manager.StopAsync(SharedDirectoriesVm.Name, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.Empty(HostProcesses.Mentioning(directory + "/"));
        Assert.Empty(Directory.EnumerateFiles(directory, "*.sock").Concat(Directory.EnumerateFiles(directory, "*.pid")));

        // Start-Vm killed (SIGKILL) with the first virtiofsd running, before and after its pid file: the next call ends it.
        foreach (var step in new[] { DetachedProcess.CrashBeforeRecord("vmps-share0.virtiofsd.pid"), DetachedProcess.CrashAfterSpawn("vmps-share0.virtiofsd.pid") })
        {
            var (exitCode, output) = await VmCommandChild.RunAsync(fixture.Home.Paths, null, $"start {SharedDirectoriesVm.Name}", step);
            Assert.True(exitCode == 137, $"Start-Vm was not killed at '{step}' (exit code {exitCode}): {output}");
            Assert.Contains(HostProcesses.Mentioning(directory + "/"), IsVirtiofsd);

            var next = new VmManager(fixture.Home.Paths);
            Assert.Equal(VmState.Stopped, (await next.GetAsync(SharedDirectoriesVm.Name, CancellationToken.None)).State);
            Assert.Empty(HostProcesses.Mentioning(directory + "/"));
            Assert.Empty(Directory.EnumerateFiles(directory, "*.sock").Concat(Directory.EnumerateFiles(directory, "*.pid")));
        }

        // The other tests share the VM: it runs again, its shares mounted.
        await fixture.Manager.StartAsync(SharedDirectoriesVm.Name, SharedDirectoriesVm.Start, null, CancellationToken.None);
        Assert.Equal("read-only content", await RunAsync($"cat {SharedDirectoriesVm.ReadOnlyPath}/fixed.txt"));
    }

    [RequiresVmBootFact]
    public async Task A_q35_VM_mounts_the_same_directory_through_virtio_fs_pci_beside_the_microvm()
    {
        const string q35 = "shares-q35";
        await fixture.Manager.CreateAsync(
            new VmCreateOptions
            {
                Name = q35,
                Image = "busybox",
                MemoryMiB = 256,
                Hypervisor = HypervisorKind.Qemu,
                MachineType = QemuMachine.Q35,
                Shares = [ShareValidation.Parse($"{fixture.Writable}:/mnt/host")],
            },
            CancellationToken.None);
        try
        {
            var started = await fixture.Manager.StartAsync(q35, SharedDirectoriesVm.Start, null, CancellationToken.None);
            var arguments = File.ReadAllText($"/proc/{started.ProcessId}/cmdline").Split('\0');
            Assert.StartsWith("q35,", arguments[Array.IndexOf(arguments, "-machine") + 1], StringComparison.Ordinal);
            Assert.Contains(arguments, argument => argument.StartsWith("vhost-user-fs-pci,", StringComparison.Ordinal));

            // One host directory, two VMs on two machine types, each with its own virtiofsd: a write by either is read by the other.
            var id = Guid.NewGuid().ToString("N");
            await RunAsync(q35, $"echo from q35 > /mnt/host/q35-{id}.txt");
            Assert.Equal("from q35", await RunAsync(SharedDirectoriesVm.Name, $"cat {SharedDirectoriesVm.WritablePath}/q35-{id}.txt"));
            await RunAsync(SharedDirectoriesVm.Name, $"echo from microvm > {SharedDirectoriesVm.WritablePath}/microvm-{id}.txt");
            Assert.Equal("from microvm", await RunAsync(q35, $"cat /mnt/host/microvm-{id}.txt"));
            Assert.Equal("from q35\n", await File.ReadAllTextAsync(Path.Combine(fixture.Writable, $"q35-{id}.txt")));
            Assert.Equal("virtiofs", await RunAsync(q35, "awk '$2 == \"/mnt/host\" { print $3 }' /proc/mounts"));
        }
        finally
        {
            await fixture.Manager.RemoveAsync(q35, force: true, CancellationToken.None);
        }
    }

    private static bool IsVirtiofsd(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0] == VirtioFsDaemons.DefaultPath;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string SocketOf(int pid) =>
        Path.GetFileName(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Single(argument => argument.StartsWith("--socket-path=", StringComparison.Ordinal)));

    private Task<VmCommandResult> ExecAsync(string script, string vm = SharedDirectoriesVm.Name) => fixture.Manager.ExecAsync(
        vm, new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);

    private Task<string> RunAsync(string script) => RunAsync(SharedDirectoriesVm.Name, script);

    private async Task<string> RunAsync(string vm, string script)
    {
        var result = await ExecAsync(script, vm);
        Assert.True(result.ExitCode == 0, $"'{script}' in {vm} exited {result.ExitCode}: {result.Stderr}");
        return result.Stdout.Trim();
    }
}
