using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Network.Firewall;

/// <summary>
/// Which firewall holds VmPs's rules: the one asked for (VMPS_FIREWALL, or the caller), else
/// nftables when libnftables is installed, else iptables when iptables-restore is.
/// </summary>
internal static class FirewallSelection
{
    public const string EnvironmentVariable = "VMPS_FIREWALL";

    private const string IptablesRestore = "iptables-restore";

    /// <summary>The firewall this host offers, nftables first; null when it has neither.</summary>
    public static FirewallBackend? Detect()
    {
        if (LibNftables.IsAvailable)
        {
            return FirewallBackend.Nftables;
        }

        return DetachedProcess.FindOnPath(IptablesRestore, HostToolCatalog.DefaultSearchPath()) is null ? null : FirewallBackend.Iptables;
    }

    /// <summary><paramref name="requested"/>, else $VMPS_FIREWALL, else <see cref="Detect"/>. Errors: InvalidFirewallBackend, FirewallNotFound.</summary>
    public static HostFirewall Create(FirewallBackend? requested, NetworkNamespace networkNamespace)
    {
        var backend = requested ?? FromEnvironment() ?? Detect() ?? throw NotFound(null);
        if (backend == FirewallBackend.Nftables && !LibNftables.IsAvailable)
        {
            throw new VmPsException(
                VmPsErrorIds.FirewallNotFound,
                VmPsErrorKind.NotInstalled,
                "VmPs was asked to use nftables, and libnftables (libnftables.so.1) is not installed.",
                EnvironmentVariable)
            {
                RecommendedAction = $"Install nftables (apt-get install nftables), or set {EnvironmentVariable}=iptables.",
            };
        }

        return backend == FirewallBackend.Nftables ? new NftablesFirewall(networkNamespace) : new IptablesFirewall(networkNamespace);
    }

    public static VmPsException NotFound(Exception? inner) => new(
        VmPsErrorIds.FirewallNotFound,
        VmPsErrorKind.NotInstalled,
        "VM networks need nftables or iptables for NAT, isolation and published ports, and this host has neither libnftables nor iptables-restore.",
        IptablesRestore,
        inner)
    {
        RecommendedAction = "Install nftables (apt-get install nftables), or iptables (apt-get install iptables).",
    };

    /// <summary>A VMPS_FIREWALL value: nftables or iptables (any case), or null when empty. Errors: InvalidFirewallBackend.</summary>
    public static FirewallBackend? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Enum.GetValues<FirewallBackend>().Cast<FirewallBackend?>().FirstOrDefault(backend => string.Equals(backend.ToString(), value.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new VmPsException(
                VmPsErrorIds.InvalidFirewallBackend,
                VmPsErrorKind.InvalidArgument,
                $"{EnvironmentVariable} is '{value}'; it must be 'nftables' or 'iptables' (or unset, to choose automatically).",
                value);
    }

    private static FirewallBackend? FromEnvironment() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));
}
