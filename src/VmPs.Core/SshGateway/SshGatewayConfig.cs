using System.Globalization;
using System.Text;

namespace VmPs.Core.SshGateway;

/// <summary>
/// The texts sshd reads: its configuration and the accounts file laid over /etc/passwd in its mount namespace.
/// Every gateway account runs the gateway program as its shell, with the uid of the installation's owner: sshd looks
/// up the login name before authenticating, so "vmps" and each user's name (command mode) and each VM's name (proxy
/// mode) must exist, and
/// the session must reach the state directory. There is no root account and no password anywhere.
/// </summary>
internal static class SshGatewayConfig
{
    /// <summary>OpenSSH's privilege separation user, which sshd needs in the accounts it sees.</summary>
    public const string PrivilegeSeparationUser = "sshd";

    /// <summary>
    /// sshd's nsswitch.conf: accounts and host names from its own files only, so the names ssh -J may open
    /// (<see cref="SshGatewayTargets"/>) resolve to the VMs' addresses and never through DNS or the host's other sources.
    /// </summary>
    public const string NameService = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n";

    public static string Sshd(SshGatewayLayout layout, SshGatewaySettings settings, string program, VmPsSettings installation)
    {
        // The program has its own copy of the engine (bin/sshgw), so it is told the guest binary of the module that started it.
        var environment = new List<string> { $"VMPS_HOME={installation.StateDirectory}", $"{Boot.GuestBinary.EnvironmentVariable}={Boot.GuestBinary.Locate()}" };
        if (installation.NetworkNamespace is { } netns)
        {
            environment.Add($"{Network.NetworkNamespace.EnvironmentVariable}={netns}");
        }

        if (installation.Firewall is { } firewall)
        {
            environment.Add($"{Network.Firewall.FirewallSelection.EnvironmentVariable}={firewall}");
        }

        var text = new StringBuilder();
        text.AppendLine("# Written by VmPs (Start-VmSshGateway) at every start; the host's /etc/ssh/sshd_config is not read.");
        text.AppendLine(CultureInfo.InvariantCulture, $"Port {settings.Port}");
        text.AppendLine(CultureInfo.InvariantCulture, $"ListenAddress {settings.ListenAddress}");
        text.AppendLine(CultureInfo.InvariantCulture, $"HostKey {Quote(layout.HostKey)}");
        text.AppendLine("PidFile none");
        text.AppendLine("# Keys come only from the state database, through the gateway program, for the login name and key offered.");
        // sshd wants the command's first character to be '/', so the program's path is not quoted (it has no spaces).
        text.AppendLine("AuthorizedKeysFile none");
        // sshd gives the command a minimal environment, so the installation's settings are its arguments.
        var keys = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{program} keys --home {Quote(installation.StateDirectory)}");
        foreach (var (option, value) in new[] { ("--netns", installation.NetworkNamespace), ("--firewall", installation.Firewall) })
        {
            if (value is not null)
            {
                keys.Append(CultureInfo.InvariantCulture, $" {option} {Quote(value)}");
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"AuthorizedKeysCommand {keys} %u %f");
        text.AppendLine(CultureInfo.InvariantCulture, $"AuthorizedKeysCommandUser {SshGatewayKeys.CommandAccount}");
        text.AppendLine("PubkeyAuthentication yes");
        text.AppendLine("PasswordAuthentication no");
        text.AppendLine("KbdInteractiveAuthentication no");
        text.AppendLine("HostbasedAuthentication no");
        text.AppendLine("PermitEmptyPasswords no");
        text.AppendLine("# The gateway accounts share the owner's uid (root): they may log in only with the key's forced command, the gateway program.");
        text.AppendLine("PermitRootLogin forced-commands-only");
        text.AppendLine("UsePAM no");
        text.AppendLine("AllowAgentForwarding no");
        text.AppendLine("# ssh -J: a key opens only what its permitopen options name (SshGatewayKeys); nothing listens for a client.");
        text.AppendLine("AllowTcpForwarding local");
        text.AppendLine("PermitListen none");
        text.AppendLine("AllowStreamLocalForwarding no");
        text.AppendLine("GatewayPorts no");
        text.AppendLine("X11Forwarding no");
        text.AppendLine("PermitTunnel no");
        text.AppendLine("PermitUserEnvironment no");
        text.AppendLine("PermitUserRC no");
        text.AppendLine("PrintMotd no");
        text.AppendLine("PrintLastLog no");
        text.AppendLine("StrictModes yes");
        text.AppendLine("ClientAliveInterval 60");
        text.AppendLine("LogLevel INFO");
        text.AppendLine(CultureInfo.InvariantCulture, $"SetEnv {string.Join(' ', environment.Select(Quote))}");
        return text.ToString();
    }

    /// <summary>
    /// The accounts sshd sees: its privilege separation user (the host's line), the command account and one per VM or
    /// user whose name is free (not one of those two, nor an earlier one's), all root's (the gateway needs root).
    /// </summary>
    public static string Accounts(string privilegeSeparationLine, string program, IEnumerable<string> loginNames)
    {
        var text = new StringBuilder();
        text.AppendLine(privilegeSeparationLine);
        foreach (var name in loginNames.Prepend(SshGatewayKeys.CommandAccount).Distinct(StringComparer.Ordinal))
        {
            if (name != PrivilegeSeparationUser)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{name}:x:0:0:VmPs SSH gateway:/:{program}");
            }
        }

        return text.ToString();
    }

    /// <summary>One word of sshd_config: sshd splits its lines on spaces outside double quotes.</summary>
    private static string Quote(string value) => value.Contains('"', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal)
        ? throw new VmPsException(VmPsErrorIds.SshGatewayFailed, VmPsErrorKind.InvalidArgument, $"'{value}' holds a double quote or a line break, which sshd_config cannot carry.", value)
        {
            RecommendedAction = "Use a state directory ($VMPS_HOME) and module folder whose paths have neither.",
        }
        : $"\"{value}\"";
}
