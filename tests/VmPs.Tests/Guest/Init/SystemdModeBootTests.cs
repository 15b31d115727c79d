using System.Diagnostics;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Protocol;
using VmPs.Protocol.Logs;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Guest.Init;

/// <summary>
/// A glibc systemd image built here (debootstrap minbase bookworm with systemd and systemd-sysv, cached on the
/// machine): in systemd
/// mode systemd is PID 1 and runs our agent as vmps-agent.service, which serves the instance metadata, and Stop-Vm
/// powers it off cleanly; the same image with -InitMode Exec keeps our init as PID 1. Volumes and shares are mounted by
/// our init before systemd starts, which then loads the runtime mount units the init wrote for them in
/// /run/systemd/system (so RequiresMountsFor= orders against them) without starting them: the image has no udev, so
/// a device unit never comes up. A volume hot-plugged under systemd gets its unit from the agent service and loses
/// it when it is dismounted. systemd unmounts them at poweroff.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SystemdModeBootTests : IClassFixture<OpenRegistry>, IDisposable
{
    private const string ImageName = "debian-systemd";

    /// <summary>The metadata service, which the agent service serves in systemd mode, by bash alone (minbase has no HTTP client).</summary>
    private const string ImdsRequest = "exec 3<>/dev/tcp/169.254.169.254/80 && printf 'GET /latest/meta-data/local-hostname HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\nConnection: close\\r\\n\\r\\n' >&3 && cat <&3";

    private static readonly VmStartOptions SlowBoot = new() { Timeout = TimeSpan.FromMinutes(4) };

    private readonly OpenRegistry registry;
    private readonly ITestOutputHelper output;
    private readonly TemporaryVmPsHome home = new();

    public SystemdModeBootTests(OpenRegistry registry, ITestOutputHelper output)
    {
        this.registry = registry;
        this.output = output;
    }

    [RequiresVmBootAndProgramsFact("debootstrap", "docker-registry", "tar")]
    public async Task ASystemdImageBootsWithSystemdAsPid1AndTheAgentAsAServiceOrWithOurInitInExecMode()
    {
        var layer = await DebootstrapCache.MinbaseTarAsync("bookworm", ["systemd", "systemd-sysv"], output.WriteLine);
        var image = await GuestTestImages.ImportLayerAsync(registry, home, layer, ImageName, new OciImageConfig(), ImageInitMode.Systemd);
        var manager = new VmManager(home.Paths);

        Assert.Equal(ImageInitMode.Systemd, image.InitMode);
        await manager.CreateAsync(new VmCreateOptions { Name = "systemd", Image = ImageName, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        await manager.StartAsync("systemd", SlowBoot, null, CancellationToken.None);
        var pid1 = await manager.ExecAsync("systemd", new VmExecOptions { Command = ["cat", "/proc/1/comm"] }, CancellationToken.None);
        var agent = await manager.ExecAsync("systemd", new VmExecOptions { Command = ["systemctl", "is-active", "vmps-agent"] }, CancellationToken.None);
        var imds = await manager.ExecAsync("systemd", new VmExecOptions { Command = ["bash", "-c", ImdsRequest] }, CancellationToken.None);
        var stopped = await manager.StopAsync("systemd", new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);

        Assert.Equal("systemd", pid1.Stdout.Trim());
        Assert.Equal((0, "active"), (agent.ExitCode, agent.Stdout.Trim()));
        Assert.True(imds.ExitCode == 0, imds.Stderr);
        Assert.StartsWith("HTTP/1.1 200", imds.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nsystemd", imds.Stdout, StringComparison.Ordinal);
        Assert.Equal((VmState.Stopped, null), (stopped.State, stopped.StatusDetail));
        var console = await manager.GetLogAsync("systemd", VmLogSource.Console, new VmLogOptions(), CancellationToken.None).ToListAsync();
        Assert.Contains(ConsoleMarkers.FormatPoweroff(PoweroffReasons.Systemd("poweroff"), null), console);
        var init = await manager.GetInitLogAsync("systemd", new VmLogOptions(), CancellationToken.None).ToListAsync();
        Assert.Equal(InitLogPhases.Systemd, init[^1].Phase);
        Assert.DoesNotContain(init, record => record.Level == InitLogLevels.Error);

        var exec = await manager.CreateAsync(new VmCreateOptions { Name = "exec", Image = ImageName, Hypervisor = HypervisorKind.Qemu, InitMode = ImageInitMode.Exec }, CancellationToken.None);
        await manager.StartAsync("exec", SlowBoot, null, CancellationToken.None);
        var execPid1 = await manager.ExecAsync("exec", new VmExecOptions { Command = ["cat", "/proc/1/comm"] }, CancellationToken.None);
        var libc = await manager.ExecAsync("exec", new VmExecOptions { Command = ["ldd", "--version"] }, CancellationToken.None);
        var execStopped = await manager.StopAsync("exec", new VmStopOptions(), CancellationToken.None);

        Assert.Equal(ImageInitMode.Exec, exec.InitMode);
        Assert.Equal("init", execPid1.Stdout.Trim());
        Assert.Contains("GLIBC", libc.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal((VmState.Stopped, null), (execStopped.State, execStopped.StatusDetail));
    }

    [RequiresVmBootAndProgramsFact("debootstrap", "docker-registry", "tar", "e2fsck")]
    public async Task UnderSystemdVolumesAndSharesGetOurRuntimeMountUnitsAHotPluggedVolumeGetsAndLosesOneAndAPoweroffLeavesTheVolumeClean()
    {
        var layer = await DebootstrapCache.MinbaseTarAsync("bookworm", ["systemd", "systemd-sysv"], output.WriteLine);
        await GuestTestImages.ImportLayerAsync(registry, home, layer, ImageName, new OciImageConfig(), ImageInitMode.Systemd);
        using var scratch = new ScratchDirectory();
        var shared = Directory.CreateDirectory(scratch.Combine("shared")).FullName;
        await File.WriteAllTextAsync(Path.Combine(shared, "host.txt"), "from the host");
        var manager = new VmManager(home.Paths);
        var volume = await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64L << 20 }, CancellationToken.None);
        await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "hot", SizeBytes = 32L << 20 }, CancellationToken.None);
        await manager.CreateAsync(
            new VmCreateOptions
            {
                Name = "storage", Image = ImageName, Hypervisor = HypervisorKind.Qemu, MachineType = QemuMachine.Q35,
                Volumes = [VolumeValidation.ParseAttachment("data:/srv/my-data")], Shares = [ShareValidation.Parse($"{shared}:/mnt/host:ro")],
            },
            CancellationToken.None);

        await manager.StartAsync("storage", SlowBoot, null, CancellationToken.None);
        // The agent starts early; the boot is done when systemd says so. Had systemd to start a volume's mount unit
        // itself, its device unit would wait 90 s and time out: no udev announces devices in this image (the console
        // gettys' device units do time out, hence the wait).
        var booting = Stopwatch.StartNew();
        var state = await RunAsync(manager, "timeout 240 systemctl is-system-running --wait; systemctl list-jobs --no-legend; systemctl --failed --no-legend --plain");
        var timeouts = await RunAsync(manager, "systemd-analyze; journalctl -b -o cat --no-pager | grep 'Timed out waiting for device' || true");
        output.WriteLine($"systemd finished booting {booting.Elapsed.TotalSeconds:0.0} s after Start-Vm returned: {state}\n{timeouts}");
        var volumeUnit = await ShowAsync(manager, @"srv-my\x2ddata.mount");
        var shareUnit = await ShowAsync(manager, "mnt-host.mount");
        var unitFile = await RunAsync(manager, @"cat '/run/systemd/system/srv-my\x2ddata.mount' && readlink '/run/systemd/system/local-fs.target.wants/srv-my\x2ddata.mount'");
        var used = await manager.ExecAsync(
            "storage",
            new VmExecOptions { Command = ["sh", "-c", "cat /mnt/host/host.txt && echo written under systemd > /srv/my-data/file.txt && touch /mnt/host/x"] },
            CancellationToken.None);

        Assert.Equal("running", state);
        Assert.DoesNotContain("/dev/vd", timeouts, StringComparison.Ordinal);
        Assert.Equal(("mounted", "/run/systemd/system/srv-my\\x2ddata.mount", "VmPs volume data"), (volumeUnit["SubState"], volumeUnit["FragmentPath"], volumeUnit["Description"]));
        Assert.Equal(("mounted", "/run/systemd/system/mnt-host.mount", "VmPs host directory share vmps-share0"), (shareUnit["SubState"], shareUnit["FragmentPath"], shareUnit["Description"]));
        Assert.Matches(@"(?m)^What=/dev/vd[b-z]$", unitFile);
        Assert.Contains("\nWhere=/srv/my-data\nType=ext4\nOptions=rw\n", unitFile, StringComparison.Ordinal);
        Assert.EndsWith("\n/run/systemd/system/srv-my\\x2ddata.mount", unitFile, StringComparison.Ordinal);
        Assert.Equal("from the host", used.Stdout.Trim());
        Assert.Contains("Read-only", used.Stderr, StringComparison.OrdinalIgnoreCase);

        // Hot-plugged under systemd: the agent service writes the volume's unit and has systemd load it, and removes it again.
        await manager.Volumes.MountAsync("storage", new VolumeAttachOptions("hot", "/srv/hot"), CancellationToken.None);
        var plugged = await ShowAsync(manager, "srv-hot.mount");
        Assert.Equal(("mounted", "/run/systemd/system/srv-hot.mount", "VmPs volume hot"), (plugged["SubState"], plugged["FragmentPath"], plugged["Description"]));
        await manager.Volumes.DismountAsync("storage", "hot", force: false, CancellationToken.None);
        var unplugged = await ShowAsync(manager, "srv-hot.mount");
        Assert.Equal(("not-found", "inactive"), (unplugged["LoadState"], unplugged["ActiveState"]));
        Assert.Equal("gone", await RunAsync(manager, "ls /run/systemd/system/srv-hot.mount /run/systemd/system/local-fs.target.wants/srv-hot.mount 2>/dev/null || echo gone"));

        var stopped = await manager.StopAsync("storage", new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.Equal((VmState.Stopped, null), (stopped.State, stopped.StatusDetail));
        // systemd unmounted the volume through its unit at poweroff: the filesystem is clean, the write in it.
        var check = await ExternalTool.RunAsync("e2fsck", ["-n", "-f", volume.Path], CancellationToken.None);
        Assert.True(check.ExitCode == 0, $"e2fsck -n: {check.StandardOutput}{check.StandardError}");
        var read = await ExternalTool.RunCheckedAsync("debugfs", ["-R", "cat /file.txt", volume.Path], CancellationToken.None);
        Assert.Equal("written under systemd", read.StandardOutput.Trim());
    }

    private static async Task<string> RunAsync(VmManager manager, string script)
    {
        var result = await manager.ExecAsync("storage", new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(5) }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"'{script}' exited {result.ExitCode}: {result.Stdout}{result.Stderr}");
        return result.Stdout.Trim();
    }

    /// <summary>What systemd says of a unit: the properties the tests read, as KEY=VALUE lines.</summary>
    private static async Task<Dictionary<string, string>> ShowAsync(VmManager manager, string unit)
    {
        var result = await manager.ExecAsync(
            "storage", new VmExecOptions { Command = ["systemctl", "show", "-p", "LoadState,ActiveState,SubState,FragmentPath,Description", unit] }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
    }

    public void Dispose()
    {
        // A failed test must not leave its QEMU running.
        new VmManager(home.Paths).RemoveAllVms();
        home.Dispose();
    }
}
