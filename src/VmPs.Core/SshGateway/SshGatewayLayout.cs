namespace VmPs.Core.SshGateway;

/// <summary>Where the SSH gateway keeps its files: one 0700 directory of the state directory.</summary>
public sealed class SshGatewayLayout
{
    public SshGatewayLayout(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>sshd's own configuration, written at every start (never the host's /etc/ssh/sshd_config).</summary>
    public string ConfigFile => Path.Combine(Directory, "sshd_config");

    /// <summary>The gateway's host key, made once by ssh-keygen (0600); clients pin its public half.</summary>
    public string HostKey => Path.Combine(Directory, "ssh_host_ed25519_key");

    public string HostPublicKey => HostKey + ".pub";

    /// <summary>The port and address the gateway was started with, so a repair starts it the same way.</summary>
    public string SettingsFile => Path.Combine(Directory, "gateway.json");

    public string PidFile => Path.Combine(Directory, "sshd.pid");

    public string Log => Path.Combine(Directory, "sshd.log");

    /// <summary>The accounts sshd knows (the gateway account and one per VM), replaced whole by rename.</summary>
    public string Accounts => Path.Combine(Directory, "passwd");

    /// <summary>The VMs' names and addresses, sshd's /etc/hosts (ssh -J NAME), replaced whole by rename.</summary>
    public string Hosts => Path.Combine(Directory, "hosts");

    /// <summary>
    /// Laid over the host's /etc in sshd's mount namespace: passwd and hosts, links to <see cref="Accounts"/> and
    /// <see cref="Hosts"/>, and nsswitch.conf.
    /// </summary>
    public string EtcOverlay => Path.Combine(Directory, "etc");

    /// <summary>Serialises starting, repairing and stopping the gateway between sessions.</summary>
    public string LockFile => Path.Combine(Directory, "gateway.lock");
}
