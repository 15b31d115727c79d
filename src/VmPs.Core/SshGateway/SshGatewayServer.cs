using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Protocol.Files;

namespace VmPs.Core.SshGateway;

/// <summary>
/// The gateway's own sshd: started detached (it outlives the session) through the gateway program, which gives it a
/// mount namespace where /etc/passwd is the gateway's accounts file, with the configuration and host key of the 0700
/// gateway directory. Like the ingress's Caddy it runs in the VMs' network namespace ($VMPS_NETNS), where it listens
/// and where its sessions (and the connections it opens for them) reach the VMs. A sshd that died is started again, with the settings it had, by the next call.
/// </summary>
internal sealed class SshGatewayServer
{
    public const string DefaultSshd = "/usr/sbin/sshd";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly SshGatewayLayout layout;
    private readonly VmPsSettings installation;
    private readonly string sshd;
    private readonly Func<string> program;

    public SshGatewayServer(SshGatewayLayout layout, VmPsSettings installation, string sshd, Func<string> program)
    {
        this.layout = layout;
        this.installation = installation;
        this.sshd = sshd;
        this.program = program;
    }

    /// <summary>Whether the gateway should run: started and not stopped since.</summary>
    public bool WasStarted => File.Exists(layout.PidFile);

    public ProcessIdentity? Running =>
        PidFile.Read(layout.PidFile) is { } identity && ProcessProbe.IsDetachedFor(identity, layout.Directory, staysInDirectory: false) ? identity : null;

    public SshGatewaySettings? Settings => File.Exists(layout.SettingsFile)
        ? JsonSerializer.Deserialize(File.ReadAllText(layout.SettingsFile), SshGatewayJsonContext.Default.SshGatewaySettings)
        : null;

    /// <summary>Starts sshd with <paramref name="settings"/>, ending one that runs with other settings.</summary>
    public async Task StartAsync(SshGatewaySettings settings, SshGatewayAccounts accounts, CancellationToken cancellationToken)
    {
        var gateway = CheckHost();
        if (Running is not null)
        {
            if (Settings == settings)
            {
                await WriteAccountsAsync(accounts, cancellationToken).ConfigureAwait(false);
                return;
            }

            // A running gateway is ended only once its successor's port is known to be free (unless it holds that port).
            if (Settings?.Port != settings.Port)
            {
                await EnsureFreeAsync(settings, cancellationToken).ConfigureAwait(false);
            }

            await StopAsync(cancellationToken).ConfigureAwait(false);
        }

        await EnsureFreeAsync(settings, cancellationToken).ConfigureAwait(false);
        PrivateFiles.CreateDirectory(layout.Directory);
        await EnsureHostKeyAsync(cancellationToken).ConfigureAwait(false);
        await WriteAccountsAsync(accounts, cancellationToken).ConfigureAwait(false);
        await PrepareEtcOverlayAsync(cancellationToken).ConfigureAwait(false);
        await PrivateFiles.WriteAllTextAsync(layout.ConfigFile, SshGatewayConfig.Sshd(layout, settings, gateway, installation), cancellationToken).ConfigureAwait(false);
        await PrivateFiles.WriteAllTextAsync(layout.SettingsFile, JsonSerializer.Serialize(settings, SshGatewayJsonContext.Default.SshGatewaySettings), cancellationToken).ConfigureAwait(false);
        // sshd's privilege separation directory, which the package's service unit would otherwise make: root's and
        // writable by nobody else, as sshd requires, whatever the umask (one the host already has is left as it is).
        PrivateFiles.CreateDirectory("/run/sshd");

        var logStart = File.Exists(layout.Log) ? new FileInfo(layout.Log).Length : 0;
        var identity = await Namespace.RunAsync(
            () => DetachedProcess.Start(gateway, ["serve", "--sshd", sshd, "--directory", layout.Directory + "/"], layout.Log, layout.Directory, layout.PidFile),
            cancellationToken).ConfigureAwait(false);
        if (await ServerStartWait.UntilAnswersAsync(identity, token => AcceptsAsync(settings, token), StartTimeout, cancellationToken).ConfigureAwait(false)
            != ServerStartOutcome.Answered)
        {
            await ProcessProbe.KillAsync(identity, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            File.Delete(layout.PidFile);
            var log = ReadLogFrom(logStart);
            throw log.Contains("Address already in use", StringComparison.Ordinal)
                ? SshGatewayErrors.PortInUse(settings.ListenAddress, settings.Port, "the address is already in use")
                : SshGatewayErrors.Failed(LastLine(log) ?? $"it did not accept connections within {StartTimeout.TotalSeconds:0} s", layout.Log);
        }
    }

    /// <summary>Ends sshd with every session it runs (the clients are disconnected) and forgets it, so no later call starts it again.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Running is { } identity)
        {
            await ProcessTree.KillAsync(identity, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        File.Delete(layout.PidFile);
    }

    /// <summary>
    /// Replaces the accounts and hosts files whole (sshd reads them at every login and every ssh -J), so a new VM's or
    /// user's name can log in and a new VM be reached, and a removed one's cannot.
    /// </summary>
    public async Task WriteAccountsAsync(SshGatewayAccounts accounts, CancellationToken cancellationToken)
    {
        var privilegeSeparation = File.ReadLines("/etc/passwd").FirstOrDefault(line => line.StartsWith(SshGatewayConfig.PrivilegeSeparationUser + ":", StringComparison.Ordinal))
            ?? throw SshGatewayErrors.SshdMissing(sshd);
        await ReplaceAsync(layout.Accounts, SshGatewayConfig.Accounts(privilegeSeparation, program(), accounts.LoginNames), cancellationToken).ConfigureAwait(false);
        await ReplaceAsync(layout.Hosts, SshGatewayTargets.Hosts(accounts.Vms), cancellationToken).ConfigureAwait(false);
    }

    private static async Task ReplaceAsync(string path, string text, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await AtomicFile.WriteAsync(path, content, new FileMetadata(PrivateFiles.FileMode), cancellationToken).ConfigureAwait(false);
    }

    private string CheckHost()
    {
        if (Native.Libc.geteuid() != 0)
        {
            throw SshGatewayErrors.NeedsRoot();
        }

        if (!File.Exists(sshd))
        {
            throw SshGatewayErrors.SshdMissing(sshd);
        }

        return SshGatewayProgram.Check(program());
    }

    private NetworkNamespace Namespace => NetworkNamespace.Shared(installation.NetworkNamespace);

    /// <summary>A socket of the namespace sshd listens in (a socket belongs to the namespace it was made in).</summary>
    private Task<Socket> SocketAsync(AddressFamily family, CancellationToken cancellationToken) =>
        Namespace.RunAsync(() => new Socket(family, SocketType.Stream, ProtocolType.Tcp), cancellationToken);

    /// <summary>A port taken by another program is refused before anything is written or started.</summary>
    private async Task EnsureFreeAsync(SshGatewaySettings settings, CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(settings.ListenAddress);
        using var probe = await SocketAsync(address.AddressFamily, cancellationToken).ConfigureAwait(false);
        try
        {
            probe.Bind(new IPEndPoint(address, settings.Port));
        }
        catch (SocketException error)
        {
            throw SshGatewayErrors.PortInUse(settings.ListenAddress, settings.Port, error.Message);
        }
    }

    private async Task EnsureHostKeyAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(layout.HostKey) && File.Exists(layout.HostPublicKey))
        {
            return;
        }

        File.Delete(layout.HostKey);
        File.Delete(layout.HostPublicKey);
        await ExternalTool.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vmps-ssh-gateway", "-f", layout.HostKey], cancellationToken).ConfigureAwait(false);
        PrivateFiles.Restrict(layout.HostKey);
        PrivateFiles.Restrict(layout.HostPublicKey);
    }

    /// <summary>The directory laid over /etc: passwd and hosts, links to files replaced by rename, and nsswitch.conf.</summary>
    private async Task PrepareEtcOverlayAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(layout.EtcOverlay);
        foreach (var (name, target) in new[] { ("passwd", layout.Accounts), ("hosts", layout.Hosts) })
        {
            var link = Path.Combine(layout.EtcOverlay, name);
            if (new FileInfo(link).LinkTarget != target)
            {
                File.Delete(link);
                File.CreateSymbolicLink(link, target);
            }
        }

        await PrivateFiles.WriteAllTextAsync(Path.Combine(layout.EtcOverlay, "nsswitch.conf"), SshGatewayConfig.NameService, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> AcceptsAsync(SshGatewaySettings settings, CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(settings.ListenAddress);
        var target = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        using var client = await SocketAsync(target.AddressFamily, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.ConnectAsync(new IPEndPoint(target, settings.Port), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private string ReadLogFrom(long offset)
    {
        using var log = new FileStream(layout.Log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        log.Seek(Math.Min(offset, log.Length), SeekOrigin.Begin);
        return new StreamReader(log).ReadToEnd();
    }

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}
