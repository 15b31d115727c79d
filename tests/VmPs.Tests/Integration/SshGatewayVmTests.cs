using System.Text.Json;
using VmPs.Core.Access;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Core.SshGateway;
using VmPs.Tests.Guest.Init;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.Integration;

/// <summary>
/// The SSH gateway with every part real: sshd, the ssh client with keys ssh-keygen made and the host key pinned, and
/// VMs booted under QEMU by command mode on the default network, all in a network namespace of the test's own. One
/// busybox boot serves every step, in order: alice (quota: one VM) makes, lists and enters her VM; her second VM is
/// refused; bob can neither see, remove nor enter it until it is shared; then alice removes it. A second boot serves
/// the interactive shell; a Debian VM running its own sshd and a busybox VM of bob's serve ssh -J.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SshGatewayVmTests : IClassFixture<OpenRegistry>
{
    private const string Vms = SshGatewayKeys.CommandAccount;
    private const string SshdImage = "debian-sshd";

    /// <summary>What the gateway's sshd answers a direct-tcpip channel its key's permitopen does not name (ssh -W reports it).</summary>
    private const string Prohibited = "administratively prohibited";

    private readonly OpenRegistry registry;
    private readonly ITestOutputHelper output;

    public SshGatewayVmTests(OpenRegistry registry, ITestOutputHelper output)
    {
        this.registry = registry;
        this.output = output;
    }

    [RequiresNetworkedVmBootFact]
    public async Task Command_mode_and_proxy_mode_reach_only_the_users_own_VMs_within_the_quota()
    {
        Assert.Null(new RequiresSshGatewayFactAttribute().Skip);
        using var vmNamespace = await ScratchNamespace.CreateAsync();
        await using var host = await SshGatewayHost.StartAsync(vmNamespace.Name);
        await host.Services.Users.SetQuotaAsync("alice", new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxVms] = 1 }, CancellationToken.None);

        var created = await host.SshAsync("alice", Vms, "new --image busybox --name a1");
        Assert.True(created.ExitCode == 0, created.StandardError);
        Assert.Equal("a1 Running", created.StandardOutput.Trim());
        Assert.Equal("alice", (await host.Services.Vms.GetAsync("a1", CancellationToken.None)).Owner);

        var listed = await host.SshAsync("alice", Vms, "ls --json");
        Assert.True(listed.ExitCode == 0, listed.StandardError);
        var vm = Assert.Single(JsonDocument.Parse(listed.StandardOutput).RootElement.EnumerateArray());
        Assert.Equal(("a1", "Running", "alice"), (vm.GetProperty("name").GetString(), vm.GetProperty("state").GetString(), vm.GetProperty("owner").GetString()));

        var second = await host.SshAsync("alice", Vms, "new --name a2");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("MaxVms", second.StandardError, StringComparison.Ordinal);
        Assert.Null(await host.Services.Vms.FindAsync("a2", CancellationToken.None));

        // Proxy mode: the command runs in the VM (its hostname is the VM's name), stdout and stderr apart, its exit code returned.
        var proxied = await host.SshAsync("alice", "a1", "hostname; echo oops >&2; exit 3");
        Assert.Equal((3, "a1", "oops"), (proxied.ExitCode, proxied.StandardOutput.Trim(), proxied.StandardError.Trim()));
        var piped = await host.SshAsync("alice", "a1", "tr a-z A-Z", standardInput: "through the agent\n");
        Assert.Equal((0, "THROUGH THE AGENT"), (piped.ExitCode, piped.StandardOutput.Trim()));

        // bob: alice's VM is not there for him, and sshd refuses him its account.
        Assert.Equal("[]", (await host.SshAsync("bob", Vms, "ls --json")).StandardOutput.Trim());
        var removeByBob = await host.SshAsync("bob", Vms, "rm a1");
        Assert.Equal(1, removeByBob.ExitCode);
        Assert.Contains("'a1'", removeByBob.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, (await host.SshAsync("bob", Vms, "restart a1")).ExitCode);
        Assert.Equal(1, (await host.SshAsync("bob", Vms, "share a1 bob@example.test")).ExitCode);
        Assert.Equal(255, (await host.SshAsync("bob", "a1", "true")).ExitCode);
        Assert.Equal(255, (await host.SshAsync("mallory", "a1", "true")).ExitCode);

        // Shared with bob: he lists and enters it, but only its owner removes it.
        Assert.Equal(0, (await host.SshAsync("alice", Vms, "share a1 bob@example.test")).ExitCode);
        Assert.Contains("a1", (await host.SshAsync("bob", Vms, "ls")).StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, (await host.SshAsync("bob", "a1", "true")).ExitCode);
        var notOwner = await host.SshAsync("bob", Vms, "rm a1");
        Assert.Equal(1, notOwner.ExitCode);
        Assert.Contains("only its owner", notOwner.StandardError, StringComparison.Ordinal);

        var removed = await host.SshAsync("alice", Vms, "rm a1");
        Assert.Equal((0, "a1 removed"), (removed.ExitCode, removed.StandardOutput.Trim()));
        Assert.Empty(await host.Services.Vms.GetAllAsync(CancellationToken.None));
        Assert.Equal(255, (await host.SshAsync("alice", "a1", "true")).ExitCode);
    }

    [RequiresNetworkedVmBootFact]
    public async Task Proxy_mode_without_a_command_is_an_interactive_shell_on_a_pty_in_the_VM_that_stopping_the_gateway_ends()
    {
        Assert.Null(new RequiresSshGatewayFactAttribute().Skip);
        using var vmNamespace = await ScratchNamespace.CreateAsync();
        await using var host = await SshGatewayHost.StartAsync(vmNamespace.Name);
        var created = await host.SshAsync("alice", Vms, "new --image busybox --name t1");
        Assert.True(created.ExitCode == 0, created.StandardError);

        // Typed into the shell: its answers come back (the arithmetic shows the guest's shell ran the line, not the
        // pty's echo of it), on a terminal of the guest's own with the client's window size, which follows when the
        // client's window is resized; the shell's exit code is ssh's.
        using (var shell = host.StartInteractive("alice", "t1", rows: 33, columns: 101))
        {
            await shell.TypeLineAsync("echo at-$(hostname)-$((6*7)); tty");
            await shell.WaitForOutputAsync("at-t1-42");
            await shell.WaitForOutputAsync("/dev/pts/");
            const string size = "echo size-$(stty size | tr ' ' x)";
            await shell.TypeLineAsync(size);
            await shell.WaitForOutputAsync("size-33x101");
            shell.Resize(rows: 41, columns: 123);
            // The new size travels ssh, sshd, the gateway's pty and the agent apart from the typed line, so it is asked again until it has arrived.
            await shell.TypeLineUntilOutputAsync(size, "size-41x123");
            await shell.TypeLineAsync("exit 7");
            Assert.Equal(7, await shell.WaitForExitAsync());
        }

        using var open = host.StartInteractive("alice", "t1");
        await open.TypeLineAsync("echo ready-$((1+1))");
        await open.WaitForOutputAsync("ready-2");
        var sessions = host.SessionProcesses();
        Assert.Contains(sessions, process => Path.GetFileName(ProcessProbe.ProgramOf(process.Pid)) == SshGatewayProgram.FileName);

        await host.Services.SshGateway.StopAsync(CancellationToken.None);

        Assert.Equal(255, await open.WaitForExitAsync());
        Assert.All(sessions, process => Assert.False(ProcessProbe.IsRunning(process), $"process {process.Pid} of the session still runs"));
    }

    [RequiresNetworkedVmBootFact]
    public async Task Ssh_J_through_the_gateway_reaches_port_22_of_the_users_own_VMs_by_name_or_address_and_nothing_else()
    {
        Assert.Null(new RequiresSshGatewayFactAttribute().Skip);
        Assert.Null(new RequiresRootAndProgramsFactAttribute("debootstrap", "docker-registry", "tar").Skip);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var vmNamespace = await ScratchNamespace.CreateAsync();
        await using var host = await SshGatewayHost.StartAsync(vmNamespace.Name);
        var layer = await DebootstrapCache.MinbaseTarAsync("bookworm", ["openssh-server"], output.WriteLine);
        var sshd = new OciImageConfig { Cmd = ["/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"] };
        await GuestTestImages.ImportLayerAsync(registry, host.Home, layer, SshdImage, sshd, ImageInitMode.Exec);
        output.WriteLine($"image imported at {watch.Elapsed.TotalSeconds:0.0} s");

        var created = await host.SshAsync("alice", Vms, $"new --image {SshdImage} --name s1");
        Assert.True(created.ExitCode == 0, created.StandardError);
        var bobs = await host.SshAsync("bob", Vms, "new --name b1");
        Assert.True(bobs.ExitCode == 0, bobs.StandardError);
        output.WriteLine($"VMs started at {watch.Elapsed.TotalSeconds:0.0} s");
        var s1 = (await host.Services.Vms.GetAsync("s1", CancellationToken.None)).IPAddress!;
        var b1 = (await host.Services.Vms.GetAsync("b1", CancellationToken.None)).IPAddress!;

        // alice's key for root in her VM, and its host key for the client to pin, both through proxy mode.
        var authorized = await host.SshAsync("alice", "s1", "mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys", await File.ReadAllTextAsync(host.KeyFile("alice") + ".pub"));
        Assert.True(authorized.ExitCode == 0, authorized.StandardError);
        var hostKey = await host.SshAsync("alice", "s1", "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
        Assert.True(hostKey.ExitCode == 0, hostKey.StandardError);
        await host.TrustHostKeyAsync($"s1,{s1}", hostKey.StandardOutput.Trim());

        // By name, through the command account: the guest's own sshd runs the command (sshd starts beside the agent, so it is waited for).
        var byName = await RetryAsync(() => host.JumpAsync("alice", Vms, "s1", "echo $SSH_CONNECTION; hostname"));
        Assert.True(byName.ExitCode == 0, byName.StandardError);
        Assert.EndsWith($"{s1} 22\ns1", byName.StandardOutput.Trim(), StringComparison.Ordinal);
        output.WriteLine($"first ssh -J at {watch.Elapsed.TotalSeconds:0.0} s");
        var byAddress = await host.JumpAsync("alice", Vms, s1, "exit 5");
        Assert.True(byAddress.ExitCode == 5, byAddress.StandardError);
        var throughItsAccount = await host.JumpAsync("alice", "s1", "s1", "true");
        Assert.True(throughItsAccount.ExitCode == 0, throughItsAccount.StandardError);

        // Refused by the gateway's sshd itself: bob's VM by address and by name, the loopback (where the gateway
        // listens), another port of alice's VM, and from the VM's account another VM.
        AssertProhibited(await host.JumpAsync("alice", Vms, b1, "true"));
        AssertProhibited(await host.JumpAsync("alice", Vms, "b1", "true"));
        AssertProhibited(await host.JumpAsync("alice", Vms, "127.0.0.1", "true", host.Port));
        AssertProhibited(await host.JumpAsync("alice", Vms, "s1", "true", host.Port));
        AssertProhibited(await host.JumpAsync("alice", "s1", b1, "true"));

        // bob reaches his own VM's port 22 (its busybox has no sshd, so the connection is refused there, not by the
        // gateway) but not alice's, and may not log in as her VM.
        var ownPort = await host.JumpAsync("bob", Vms, "b1", "true");
        Assert.DoesNotContain(Prohibited, ownPort.StandardError, StringComparison.Ordinal);
        Assert.Contains("connect failed", ownPort.StandardError, StringComparison.Ordinal);
        AssertProhibited(await host.JumpAsync("bob", Vms, "s1", "true"));
        var bobAsS1 = await host.JumpAsync("bob", "s1", "s1", "true");
        Assert.Equal(255, bobAsS1.ExitCode);
        Assert.Contains("Permission denied", bobAsS1.StandardError, StringComparison.Ordinal);

        // Shared with bob, alice's VM opens for him too (its sshd still wants a key it knows, which bob's is not).
        Assert.Equal(0, (await host.SshAsync("alice", Vms, "share s1 bob@example.test")).ExitCode);
        var shared = await host.JumpAsync("bob", Vms, "s1", "true");
        Assert.DoesNotContain(Prohibited, shared.StandardError, StringComparison.Ordinal);
        Assert.Contains("Permission denied", shared.StandardError, StringComparison.Ordinal);

        // A bare -J HOST:PORT logs in to the gateway with the client's local user name, which is the account of the
        // VmPs user of that name: alice, renamed so (the running gateway's accounts follow), reaches her VM and no other.
        await host.Services.Users.SetAsync("alice", new VmUserSetOptions { NewName = Environment.UserName }, CancellationToken.None);
        var bare = await host.JumpAsync("alice", jumpLogin: null, "s1", "hostname");
        Assert.True(bare.ExitCode == 0, bare.StandardError);
        Assert.Equal("s1", bare.StandardOutput.Trim());
        AssertProhibited(await host.JumpAsync("alice", jumpLogin: null, b1, "true"));
        var ownAccount = await host.SshAsync("alice", Environment.UserName, "ls");
        Assert.True(ownAccount.ExitCode == 0, ownAccount.StandardError);
        Assert.Contains("s1", ownAccount.StandardOutput, StringComparison.Ordinal);
    }

    private static void AssertProhibited(ToolResult result)
    {
        Assert.Equal(255, result.ExitCode);
        Assert.Contains(Prohibited, result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Runs <paramref name="ssh"/> until it succeeds, for a minute at most, returning the last result.</summary>
    private static async Task<ToolResult> RetryAsync(Func<Task<ToolResult>> ssh)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            var result = await ssh();
            if (result.ExitCode == 0 || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(500);
        }
    }
}
