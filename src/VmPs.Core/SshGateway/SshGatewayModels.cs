using System.Text.Json.Serialization;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>Whether the gateway's sshd runs.</summary>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum SshGatewayStatus
{
    /// <summary>Never started, or stopped with Stop-VmSshGateway.</summary>
    Stopped,

    Running,
}

/// <summary>The SSH gateway of an installation (Get-VmSshGateway).</summary>
public sealed record SshGatewayInfo
{
    public required SshGatewayStatus Status { get; init; }

    /// <summary>The TCP port sshd listens on; null when never started.</summary>
    public int? Port { get; init; }

    public string? ListenAddress { get; init; }

    public int? ProcessId { get; init; }

    /// <summary>The host key's SHA256 fingerprint, which clients see on their first connection; null before the first start.</summary>
    public string? HostKeyFingerprint { get; init; }

    /// <summary>The host key's public half as a known_hosts key ("ssh-ed25519 AAAA..."), for clients to pin.</summary>
    public string? HostPublicKey { get; init; }

    /// <summary>The gateway's folder of the state directory: sshd_config, host key, log.</summary>
    public required string Directory { get; init; }
}

public sealed record SshGatewayStartOptions
{
    public const int DefaultPort = 2222;

    public int Port { get; init; } = DefaultPort;

    /// <summary>An IPv4 or IPv6 address of this host; all IPv4 addresses when null.</summary>
    public string? ListenAddress { get; init; }
}

/// <summary>What <see cref="SshGatewayLayout.SettingsFile"/> keeps.</summary>
internal sealed record SshGatewaySettings(int Port, string ListenAddress);

[JsonSerializable(typeof(SshGatewaySettings))]
internal sealed partial class SshGatewayJsonContext : JsonSerializerContext;

/// <summary>
/// Whom the gateway's sshd knows: every VM (its name a proxy-mode account, its address and name a host ssh -J may open)
/// and every user's name (that user's own command-mode account).
/// </summary>
internal sealed record SshGatewayAccounts(IReadOnlyList<VmInfo> Vms, IReadOnlyList<string> UserNames)
{
    public IEnumerable<string> LoginNames => Vms.Select(vm => vm.Name).Concat(UserNames);
}
