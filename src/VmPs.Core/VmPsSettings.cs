using VmPs.Core.Network.Firewall;

namespace VmPs.Core;

/// <summary>
/// What the environment chose for an installation, resolved: the state directory ($VMPS_HOME, else
/// /var/lib/vmps as root, else ~/.local/share/vmps), the network namespace ($VMPS_NETNS) and the
/// firewall ($VMPS_FIREWALL, as given). Equal settings mean the same installation, so a session keeps
/// one <see cref="VmPsServices"/> per distinct settings and a changed variable takes effect at the
/// next command.
/// </summary>
public sealed record VmPsSettings(string StateDirectory, string? NetworkNamespace, string? Firewall)
{
    public static VmPsSettings FromEnvironment() => new(
        VmPsPaths.Default().Root,
        NonEmpty(Environment.GetEnvironmentVariable(Network.NetworkNamespace.EnvironmentVariable)),
        NonEmpty(Environment.GetEnvironmentVariable(FirewallSelection.EnvironmentVariable)));

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
