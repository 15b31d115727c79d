using VmPs.Core.Hypervisors;
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
/// our init before systemd starts; systemd adopts them as mount units (so RequiresMountsFor= orders against them) and
/// unmounts them at poweroff.
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
    public async Task UnderSystemdAVolumeAndAShareAreMountedAsSystemdSeesThemAndAPoweroffLeavesTheVolumeClean()
    {
        var layer = await DebootstrapCache.MinbaseTarAsync("bookworm", ["systemd", "systemd-sysv"], output.WriteLine);
        await GuestTestImages.ImportLayerAsync(registry, home, layer, ImageName, new OciImageConfig(), ImageInitMode.Systemd);
        using var scratch = new ScratchDirectory();
        var shared = Directory.CreateDirectory(scratch.Combine("shared")).FullName;
        await File.WriteAllTextAsync(Path.Combine(shared, "host.txt"), "from the host");
        var manager = new VmManager(home.Paths);
        var volume = await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64L << 20 }, CancellationToken.None);
        await manager.CreateAsync(
            new VmCreateOptions
            {
                Name = "storage", Image = ImageName, Hypervisor = HypervisorKind.Qemu,
                Volumes = [VolumeValidation.ParseAttachment("data:/srv/data")], Shares = [ShareValidation.Parse($"{shared}:/mnt/host:ro")],
            },
            CancellationToken.None);

        await manager.StartAsync("storage", SlowBoot, null, CancellationToken.None);
        var units = await manager.ExecAsync(
            "storage", new VmExecOptions { Command = ["systemctl", "is-active", "srv-data.mount", "mnt-host.mount"] }, CancellationToken.None);
        var used = await manager.ExecAsync(
            "storage",
            new VmExecOptions { Command = ["sh", "-c", "cat /mnt/host/host.txt && echo written under systemd > /srv/data/file.txt && touch /mnt/host/x"] },
            CancellationToken.None);
        var stopped = await manager.StopAsync("storage", new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);

        Assert.Equal((0, "active\nactive"), (units.ExitCode, units.Stdout.Trim()));
        Assert.Equal("from the host", used.Stdout.Trim());
        Assert.Contains("Read-only", used.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal((VmState.Stopped, null), (stopped.State, stopped.StatusDetail));
        // systemd unmounted the volume at its poweroff: the filesystem is clean, the write in it.
        var check = await ExternalTool.RunAsync("e2fsck", ["-n", "-f", volume.Path], CancellationToken.None);
        Assert.True(check.ExitCode == 0, $"e2fsck -n: {check.StandardOutput}{check.StandardError}");
        var read = await ExternalTool.RunCheckedAsync("debugfs", ["-R", "cat /file.txt", volume.Path], CancellationToken.None);
        Assert.Equal("written under systemd", read.StandardOutput.Trim());
    }

    public void Dispose() => home.Dispose();
}
