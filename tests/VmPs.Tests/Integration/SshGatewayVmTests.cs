using System.Text.Json;
using VmPs.Core.Access;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Tests.Core.SshGateway;

namespace VmPs.Tests.Integration;

/// <summary>
/// The SSH gateway with every part real: sshd, the ssh client with keys ssh-keygen made and the host key pinned, and a
/// busybox VM booted under QEMU by command mode. One boot serves every step, in order: alice (quota: one VM) makes,
/// lists and enters her VM; her second VM is refused; bob can neither see, remove nor enter it until it is shared;
/// then alice removes it. A second boot serves the interactive shell.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SshGatewayVmTests
{
    private const string Vms = SshGatewayKeys.CommandAccount;

    [RequiresVmBootFact]
    public async Task Command_mode_and_proxy_mode_reach_only_the_users_own_VMs_within_the_quota()
    {
        Assert.Null(new RequiresSshGatewayFactAttribute().Skip);
        await using var host = await SshGatewayHost.StartAsync();
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

    [RequiresVmBootFact]
    public async Task Proxy_mode_without_a_command_is_an_interactive_shell_on_a_pty_in_the_VM_that_stopping_the_gateway_ends()
    {
        Assert.Null(new RequiresSshGatewayFactAttribute().Skip);
        await using var host = await SshGatewayHost.StartAsync();
        var created = await host.SshAsync("alice", Vms, "new --image busybox --name t1");
        Assert.True(created.ExitCode == 0, created.StandardError);

        // Typed into the shell: its answers come back (the arithmetic shows the guest's shell ran the line, not the
        // pty's echo of it), on a terminal of the guest's own, and the shell's exit code is ssh's.
        using (var shell = host.StartInteractive("alice", "t1"))
        {
            await shell.TypeLineAsync("echo at-$(hostname)-$((6*7)); tty");
            await shell.WaitForOutputAsync("at-t1-42");
            await shell.WaitForOutputAsync("/dev/pts/");
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
}
