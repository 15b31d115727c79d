using VmPs.Core.Hypervisors;
using VmPs.Core.Images.Oci;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Protocol;
using VmPs.Protocol.Logs;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Guest.Init;

/// <summary>
/// One boot of a musl image built here (a program compiled by musl-gcc, dynamically linked against
/// ld-musl, beside a static busybox): the agent works in it, the musl program runs, and its entrypoint
/// runs with the image's env, working directory and user, writes stdout and stderr to the App log (not the
/// console), and its exit code 7 shows in Get-Vm after the VM powered itself off.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class MuslAppImageTests : IClassFixture<OpenRegistry>, IDisposable
{
    private const string VmName = "musl-app";

    private const string MuslProgram = """
        #include <stdio.h>
        #include <string.h>

        /* Names the dynamic loader mapped into this process, so the test knows ld-musl ran it. */
        int main(void)
        {
            char line[512];
            const char *loader = "no loader";
            FILE *maps = fopen("/proc/self/maps", "r");
            while (maps && fgets(line, sizeof line, maps))
            {
                if (strstr(line, "ld-musl-x86_64.so.1"))
                {
                    loader = "ld-musl";
                    break;
                }
            }

            printf("hello from musl via %s\n", loader);
            return 0;
        }
        """;

    /// <summary>Reports its context, then waits for the test's signal file so the test can use the agent first.</summary>
    private const string Entrypoint = """
        hello-musl
        echo "$GREETING $(pwd) $(id -u):$(id -g) $HOME"
        echo to-stderr >&2
        while [ ! -e /tmp/finish ]; do sleep 0.1; done
        exit 7
        """;

    private readonly OpenRegistry registry;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public MuslAppImageTests(OpenRegistry registry)
    {
        this.registry = registry;
    }

    [RequiresVmBootAndProgramsFact("musl-gcc", "docker-registry", "tar")]
    public async Task AMuslImageRunsItsEntrypointWithTheImageSettingsAndRecordsItsOutputAndExitCode()
    {
        var rootfs = await BuildRootfsAsync();
        await GuestTestImages.ImportAsync(registry, home, rootfs, "musl-app", new OciImageConfig
        {
            Entrypoint = ["/bin/sh", "-c"],
            Cmd = [Entrypoint],
            Env = ["PATH=/usr/local/bin:/bin", "GREETING=hi"],
            WorkingDir = "/srv/app",
            User = "app",
        });
        var manager = new VmManager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = VmName, Image = "musl-app", MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);

        await manager.StartAsync(VmName, new VmStartOptions(), null, CancellationToken.None);
        var hello = await manager.ExecAsync(VmName, new VmExecOptions { Command = ["hello-musl"] }, CancellationToken.None);
        var libraries = await manager.ExecAsync(VmName, new VmExecOptions { Command = ["ls", "/lib"] }, CancellationToken.None);
        await manager.ExecAsync(VmName, new VmExecOptions { Command = ["touch", "/tmp/finish"] }, CancellationToken.None);
        var stopped = await GuestTestImages.WaitUntilStoppedAsync(manager, VmName);

        Assert.Equal((0, "hello from musl via ld-musl\n"), (hello.ExitCode, hello.Stdout));
        Assert.Equal("ld-musl-x86_64.so.1", libraries.Stdout.Trim());
        Assert.Equal((VmState.Stopped, 7), (stopped.State, stopped.ExitCode));

        var app = await manager.GetLogAsync(VmName, VmLogSource.App, new VmLogOptions(), CancellationToken.None).ToListAsync();
        Assert.Equal(["hello from musl via ld-musl", "hi /srv/app 1000:1000 /home/app", "to-stderr"], app);

        var console = await manager.GetLogAsync(VmName, VmLogSource.Console, new VmLogOptions(), CancellationToken.None).ToListAsync();
        Assert.DoesNotContain("to-stderr", console);
        Assert.DoesNotContain("hello from musl via ld-musl", console);
        Assert.Contains(ConsoleMarkers.FormatPoweroff(PoweroffReasons.EntrypointExited, 7), console);

        var init = await manager.GetInitLogAsync(VmName, new VmLogOptions(), CancellationToken.None).ToListAsync();
        Assert.Contains(init, record => record.Phase == InitLogPhases.Entrypoint && record.Message == "the command exited with code 7");
        Assert.Equal(InitLogPhases.Poweroff, init[^1].Phase);
        Assert.DoesNotContain(init, record => record.Level == InitLogLevels.Error);
    }

    public void Dispose()
    {
        home.Dispose();
        scratch.Dispose();
    }

    private async Task<string> BuildRootfsAsync()
    {
        var rootfs = scratch.Combine("rootfs");
        await GuestTestImages.CreateBusyboxRootAsync(rootfs);
        Directory.CreateDirectory(Path.Combine(rootfs, "lib"));
        Directory.CreateDirectory(Path.Combine(rootfs, "usr/local/bin"));
        Directory.CreateDirectory(Path.Combine(rootfs, "srv/app"));
        Directory.CreateDirectory(Path.Combine(rootfs, "home/app"));
        File.WriteAllText(Path.Combine(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\n");

        // musl's libc.so is also its dynamic loader; programs name it by the loader's path.
        var loader = new FileInfo("/lib/ld-musl-x86_64.so.1").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/lib/ld-musl-x86_64.so.1";
        File.Copy(loader, Path.Combine(rootfs, "lib/ld-musl-x86_64.so.1"));

        var source = scratch.Combine("hello-musl.c");
        File.WriteAllText(source, MuslProgram);
        var program = Path.Combine(rootfs, "usr/local/bin/hello-musl");
        await ExternalTool.RunCheckedAsync("musl-gcc", ["-O2", "-o", program, source], CancellationToken.None);
        var interpreter = await ExternalTool.RunCheckedAsync("readelf", ["--program-headers", program], CancellationToken.None);
        Assert.Contains("[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]", interpreter.StandardOutput);
        return rootfs;
    }
}
