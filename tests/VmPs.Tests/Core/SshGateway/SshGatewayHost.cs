using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.SshGateway;

/// <summary>
/// A state directory with users alice and bob (each with an ed25519 key made by ssh-keygen), its SSH gateway on a
/// free port of 127.0.0.1, and the real ssh client, which pins the gateway's host key (StrictHostKeyChecking), run in
/// the installation's network namespace when it has one. Disposing stops the gateway and removes everything.
/// </summary>
internal sealed class SshGatewayHost : IAsyncDisposable
{
    private static readonly TimeSpan SshTimeout = TimeSpan.FromMinutes(3);

    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory keys = new();

    private readonly string? networkNamespace;

    private SshGatewayHost(string? networkNamespace)
    {
        this.networkNamespace = networkNamespace;
        Services = new VmPsServices(new VmPsSettings(home.Paths.Root, networkNamespace, null));
    }

    public VmPsServices Services { get; }

    public VmPsPaths Paths => home.Paths;

    public TemporaryVmPsHome Home => home;

    public SshGatewayInfo Gateway { get; private set; } = null!;

    public int Port => Gateway.Port!.Value;

    /// <summary>
    /// The module's program, copied once per test run to a root-owned folder sshd accepts: a clone under /tmp (as the
    /// gate's) puts the built one where sshd refuses it. The copy goes when the test process ends.
    /// </summary>
    private static readonly Lazy<string> Program = new(() =>
    {
        var built = Path.Combine(Path.GetDirectoryName(typeof(SshGatewayProgram).Assembly.Location)!, "sshgw");
        var copy = Path.Combine("/run", $"vmps-tests-sshgw-{Environment.ProcessId}");
        // /run is root's and 0755; the umask keeps group and others from writing the copy, as sshd requires.
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.EnumerateFiles(built, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(built, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(copy, recursive: true);
        return Path.Combine(copy, SshGatewayProgram.FileName);
    });

    /// <param name="networkNamespace">The installation's VMPS_NETNS, where the gateway then listens and ssh is run.</param>
    public static async Task<SshGatewayHost> StartAsync(string? networkNamespace = null)
    {
        Environment.SetEnvironmentVariable(SshGatewayProgram.EnvironmentVariable, Program.Value);
        var host = new SshGatewayHost(networkNamespace);
        foreach (var user in new[] { "alice", "bob", "mallory" })
        {
            await ExternalTool.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", user, "-f", host.KeyFile(user)], CancellationToken.None);
        }

        foreach (var user in new[] { "alice", "bob" })
        {
            await host.Services.Users.CreateAsync(
                new VmUserCreateOptions { Name = user, Email = $"{user}@example.test", SshPublicKeys = [await File.ReadAllTextAsync(host.KeyFile(user) + ".pub")] },
                CancellationToken.None);
        }

        host.Gateway = await host.Services.SshGateway.StartAsync(
            new SshGatewayStartOptions { Port = RegistryFixture.FreePort(), ListenAddress = "127.0.0.1" }, CancellationToken.None);
        await host.PinHostKeyAsync();
        return host;
    }

    /// <summary>A key file made for <paramref name="user"/> (mallory's is known to no VmPs user).</summary>
    public string KeyFile(string user) => keys.Combine(user);

    private string KnownHosts => keys.Combine("known_hosts");

    /// <summary>Writes the known_hosts line ssh checks the gateway's host key against.</summary>
    public Task PinHostKeyAsync() =>
        File.WriteAllTextAsync(KnownHosts, $"[127.0.0.1]:{Port} {Gateway.HostPublicKey}\n");

    /// <summary>Adds a known_hosts line: <paramref name="hostKey"/> ("TYPE BASE64") for the comma-separated <paramref name="hosts"/>.</summary>
    public Task TrustHostKeyAsync(string hosts, string hostKey) => File.AppendAllTextAsync(KnownHosts, $"{hosts} {hostKey}\n");

    /// <summary>
    /// ssh -J JUMP@127.0.0.1:PORT -p TARGETPORT root@TARGET COMMAND with the user's key: ProxyJump as users type it. The
    /// ssh that -J starts for the jump reads only the configuration file (-F), not the command line's options, so
    /// both hops take theirs from a file written for the user.
    /// </summary>
    /// <param name="jumpLogin">The gateway login of the jump; null: none given (-J HOST:PORT), so ssh logs in with the local user name.</param>
    public async Task<ToolResult> JumpAsync(string user, string? jumpLogin, string target, string command, int targetPort = 22)
    {
        var config = keys.Combine($"{user}.config");
        await File.WriteAllTextAsync(
            config,
            $"Host *\n  IdentityFile {KeyFile(user)}\n  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking yes\n" +
            $"  UserKnownHostsFile {KnownHosts}\n  GlobalKnownHostsFile /dev/null\n  LogLevel INFO\n  ConnectTimeout 30\n");
        return await RunSshAsync(
            ["-F", config, "-J", $"{(jumpLogin is null ? "" : jumpLogin + "@")}127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                "-p", targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture), $"root@{target}", command],
            null);
    }

    /// <summary>ssh -p PORT LOGIN@127.0.0.1 [COMMAND] with the user's key, no configuration files, no prompts.</summary>
    public async Task<ToolResult> SshAsync(string user, string login, string? command = null, string? standardInput = null, params string[] options)
    {
        string[] arguments = [.. Arguments(user, login, options), .. command is null ? Array.Empty<string>() : [command]];
        return await RunSshAsync(arguments, standardInput);
    }

    private async Task<ToolResult> RunSshAsync(string[] arguments, string? standardInput)
    {
        using var timeout = new CancellationTokenSource(SshTimeout);
        var (program, prefix) = Ssh;
        return await ExternalTool.RunAsync(program, [.. prefix, .. arguments], timeout.Token, standardInput);
    }

    /// <summary>ssh, or ip netns exec NAMESPACE ssh for an installation with a network namespace.</summary>
    private (string Program, string[] Prefix) Ssh => networkNamespace is null ? ("ssh", []) : ("ip", ["netns", "exec", networkNamespace, "ssh"]);

    /// <summary>
    /// ssh LOGIN@127.0.0.1 with no command on a terminal of <paramref name="rows"/> by <paramref name="columns"/>: the
    /// login's shell on a pty, typed into by the test.
    /// </summary>
    public InteractiveSsh StartInteractive(string user, string login, int rows = 24, int columns = 80)
    {
        var (program, prefix) = Ssh;
        return new InteractiveSsh([program, .. prefix, .. Arguments(user, login, ["-t"])], rows, columns);
    }

    private string[] Arguments(string user, string login, string[] options) =>
    [
        "-F", "/dev/null", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", KeyFile(user),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", $"UserKnownHostsFile={keys.Combine("known_hosts")}", "-o", "LogLevel=ERROR",
        .. options, $"{login}@127.0.0.1",
    ];

    /// <summary>Every process below the gateway's sshd: its connections' sshd processes and the sessions they run.</summary>
    public List<ProcessIdentity> SessionProcesses()
    {
        var found = new List<ProcessIdentity>();
        var pending = new Queue<int>([Gateway.ProcessId!.Value]);
        while (pending.TryDequeue(out var pid))
        {
            foreach (var child in ProcessProbe.ChildrenOf(pid))
            {
                found.Add(child);
                pending.Enqueue(child.Pid);
            }
        }

        return found;
    }

    /// <summary>
    /// Waits until a process below sshd has the command line <paramref name="title"/> (sshd names its processes by what
    /// they serve: "sshd: LOGIN" once a key logged in), failing when <paramref name="client"/> ends first.
    /// </summary>
    public async Task<List<ProcessIdentity>> WaitForSessionAsync(string title, Task<ToolResult> client)
    {
        using var timeout = new CancellationTokenSource(SshTimeout);
        while (true)
        {
            var processes = SessionProcesses();
            if (processes.Any(process => CommandLine(process.Pid) == title))
            {
                return processes;
            }

            if (client.IsCompleted)
            {
                var result = await client;
                Assert.Fail($"ssh ended ({result.ExitCode}) before sshd ran '{title}': {result.StandardError}");
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var vm in await Services.Vms.GetAllAsync(CancellationToken.None))
            {
                await Services.Vms.RemoveAsync(vm.Name, force: true, CancellationToken.None);
            }

            await Services.SshGateway.StopAsync(CancellationToken.None);
        }
        finally
        {
            keys.Dispose();
            home.Dispose();
        }
    }
}

/// <summary>A fact that runs the SSH gateway: it needs root, sshd (openssh-server), ssh and ssh-keygen; the skip names what is missing.</summary>
public sealed class RequiresSshGatewayFactAttribute : FactAttribute
{
    public RequiresSshGatewayFactAttribute()
    {
        Skip = new RequiresRootAndProgramsFactAttribute("ssh", "ssh-keygen").Skip
            ?? (File.Exists(SshGatewayServer.DefaultSshd) ? null : $"skipped: {SshGatewayServer.DefaultSshd} (openssh-server) not installed");
    }
}
