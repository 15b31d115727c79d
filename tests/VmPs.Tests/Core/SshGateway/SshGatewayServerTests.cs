using System.Net;
using System.Net.Sockets;
using VmPs.Core;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Core.Vms;
using VmPs.Protocol.Files;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.SshGateway;

/// <summary>The gateway's real sshd on 127.0.0.1 with the real ssh client: no VM is booted here.</summary>
public sealed class SshGatewayServerTests
{
    [RequiresSshGatewayFact]
    public async Task Runs_sshd_with_private_files_and_refuses_unknown_keys_before_any_VM_code()
    {
        await using var host = await SshGatewayHost.StartAsync();

        Assert.Equal(SshGatewayStatus.Running, host.Gateway.Status);
        Assert.Equal("127.0.0.1", host.Gateway.ListenAddress);
        Assert.StartsWith("SHA256:", host.Gateway.HostKeyFingerprint, StringComparison.Ordinal);
        var layout = new SshGatewayLayout(host.Paths.SshGatewayDirectory);
        Assert.Equal(0b111_000_000, UnixFileSystem.GetStatus(layout.Directory).Mode & 0xFFF);
        Assert.Equal(0b110_000_000, UnixFileSystem.GetStatus(layout.HostKey).Mode & 0xFFF);

        var unknown = await host.SshAsync("mallory", SshGatewayKeys.CommandAccount, "ls");
        Assert.Equal(255, unknown.ExitCode);
        Assert.Contains("Permission denied", unknown.StandardError, StringComparison.Ordinal);

        var list = await host.SshAsync("alice", SshGatewayKeys.CommandAccount, "ls --json");
        Assert.Equal((0, "[]"), (list.ExitCode, list.StandardOutput.Trim()));

        var bad = await host.SshAsync("alice", SshGatewayKeys.CommandAccount, "ls; rm -rf /");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("usage: ssh vmps@HOST COMMAND", bad.StandardError, StringComparison.Ordinal);

        // No account for a name that is no VM: sshd refuses it before the key is even looked up.
        var noVm = await host.SshAsync("alice", "nosuch", "true");
        Assert.Equal(255, noVm.ExitCode);
    }

    [RequiresSshGatewayFact]
    public async Task A_dead_sshd_is_started_again_by_the_next_call_and_a_stopped_one_is_not()
    {
        await using var host = await SshGatewayHost.StartAsync();
        var first = host.Gateway.ProcessId!.Value;

        await ProcessProbe.KillAsync(new ProcessIdentity(first, ProcessProbe.ReadStartTime(first)!.Value), TimeSpan.FromSeconds(10), CancellationToken.None);
        var repaired = await host.Services.SshGateway.GetAsync(CancellationToken.None);

        Assert.Equal(SshGatewayStatus.Running, repaired.Status);
        Assert.NotEqual(first, repaired.ProcessId);
        Assert.Equal(host.Gateway.HostKeyFingerprint, repaired.HostKeyFingerprint);
        Assert.Equal(0, (await host.SshAsync("alice", SshGatewayKeys.CommandAccount, "ls")).ExitCode);

        await host.Services.SshGateway.StopAsync(CancellationToken.None);
        var stopped = await host.Services.SshGateway.GetAsync(CancellationToken.None);
        Assert.Equal((SshGatewayStatus.Stopped, null), (stopped.Status, stopped.ProcessId));
        Assert.False(ProcessProbe.IsRunning(new ProcessIdentity(repaired.ProcessId!.Value, ProcessProbe.ReadStartTime(repaired.ProcessId.Value) ?? 0)));
    }

    [RequiresSshGatewayFact]
    public async Task Stopping_the_gateway_ends_the_connections_it_serves()
    {
        await using var host = await SshGatewayHost.StartAsync();
        // -N: a logged-in connection that runs no command, which only sshd's end ends.
        var client = host.SshAsync("alice", SshGatewayKeys.CommandAccount, options: ["-N"]);
        var sessions = await host.WaitForSessionAsync($"sshd: {SshGatewayKeys.CommandAccount}", client);

        await host.Services.SshGateway.StopAsync(CancellationToken.None);

        Assert.Equal(255, (await client.WaitAsync(TimeSpan.FromMinutes(1))).ExitCode);
        Assert.All(sessions, process => Assert.False(ProcessProbe.IsRunning(process), $"process {process.Pid} of sshd still runs"));
    }

    [RequiresSshGatewayFact]
    public async Task With_a_network_namespace_sshd_listens_there_with_the_VMs_and_not_in_the_hosts()
    {
        using var vmNamespace = await ScratchNamespace.CreateAsync();
        await using var host = await SshGatewayHost.StartAsync(vmNamespace.Name);

        var list = await host.SshAsync("alice", SshGatewayKeys.CommandAccount, "ls --json");
        Assert.Equal((0, "[]"), (list.ExitCode, list.StandardOutput.Trim()));
        using var outside = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => outside.ConnectAsync(IPAddress.Loopback, host.Port));
    }

    [RequiresSshGatewayFact]
    public async Task A_port_in_use_is_refused_and_the_running_gateway_is_kept()
    {
        await using var host = await SshGatewayHost.StartAsync();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            host.Services.SshGateway.StartAsync(new SshGatewayStartOptions { Port = port, ListenAddress = "127.0.0.1" }, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SshGatewayPortInUse, error.ErrorId);
        var gateway = await host.Services.SshGateway.GetAsync(CancellationToken.None);
        Assert.Equal((SshGatewayStatus.Running, host.Port, host.Gateway.ProcessId), (gateway.Status, gateway.Port, gateway.ProcessId));
    }

    [Fact]
    public async Task A_missing_sshd_names_its_package()
    {
        using var home = new TemporaryVmPsHome();
        var manager = new SshGatewayManager(
            new SshGatewayLayout(home.Paths.SshGatewayDirectory),
            new VmPsSettings(home.Paths.Root, null, null),
            _ => Task.FromResult(new SshGatewayAccounts([], [])),
            "/nonexistent/sbin/sshd",
            SshGatewayProgram.Locate);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.StartAsync(new SshGatewayStartOptions(), CancellationToken.None));

        Assert.Equal(Environment.IsPrivilegedProcess ? VmPsErrorIds.SshdNotFound : VmPsErrorIds.SshGatewayNeedsRoot, error.ErrorId);
        Assert.Contains(Environment.IsPrivilegedProcess ? "openssh-server" : "root", error.Message + error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void An_address_that_is_no_IP_address_is_refused()
    {
        using var home = new TemporaryVmPsHome();
        var services = new VmPsServices(new VmPsSettings(home.Paths.Root, null, null));

        var error = Assert.Throws<VmPsException>(() => services.SshGateway.ValidateStart(new SshGatewayStartOptions { ListenAddress = "localhost; rm" }));

        Assert.Equal(VmPsErrorIds.InvalidSshGatewayAddress, error.ErrorId);
    }
}
