using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
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
/// mode systemd is PID 1 and runs our agent as vmps-agent.service, and Stop-Vm powers it off cleanly; the same
/// image with -InitMode Exec keeps our init as PID 1.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SystemdModeBootTests : IClassFixture<OpenRegistry>, IDisposable
{
    private const string ImageName = "debian-systemd";

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
        var stopped = await manager.StopAsync("systemd", new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);

        Assert.Equal("systemd", pid1.Stdout.Trim());
        Assert.Equal((0, "active"), (agent.ExitCode, agent.Stdout.Trim()));
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

    public void Dispose() => home.Dispose();
}
