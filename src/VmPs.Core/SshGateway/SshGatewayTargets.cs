using System.Globalization;
using System.Text;
using VmPs.Core.Access;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>
/// What ssh -J through the gateway may open: port 22 of a VM the user may reach, by its address or by its name, which
/// the gateway's sshd resolves through the hosts file written here (its only source of host names; see
/// <see cref="SshGatewayConfig.NameService"/>). sshd compares a permitopen host with the requested one as plain text
/// and the ssh client lowers the host it was given, so names are given lowered.
/// </summary>
internal static class SshGatewayTargets
{
    /// <summary>The only port opened: the VM's own sshd.</summary>
    public const int SshPort = 22;

    /// <summary>Whether the user owns the VM or it was shared with the user.</summary>
    public static bool MayReach(VmUser user, VmInfo vm) =>
        string.Equals(vm.Owner, user.Name, StringComparison.OrdinalIgnoreCase) || user.SharedVms.Contains(vm.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The permitopen options of the VMs' port 22 (address and name), for those VMs that have an address.</summary>
    public static IEnumerable<string> PermitOpen(IEnumerable<VmInfo> vms) =>
        vms.Where(vm => vm.IPAddress is not null)
            .SelectMany(vm => HostName(vm) is { } name ? new[] { vm.IPAddress!, name } : [vm.IPAddress!])
            .Select(host => $"permitopen=\"{host}:{SshPort}\"");

    /// <summary>The hosts file of the gateway's sshd: each VM with an address, by its name.</summary>
    public static string Hosts(IEnumerable<VmInfo> vms)
    {
        var text = new StringBuilder("# Written by VmPs: the VMs the SSH gateway's sshd resolves for ssh -J.\n");
        foreach (var vm in vms)
        {
            if (vm.IPAddress is { } address && HostName(vm) is { } name)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{address} {name}");
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The VM's name as a host name, or null for a name the resolver would read as an address (any dotted label that
    /// starts with a digit may be an inet_aton number: 10.1, 0x0a000001, 167772161), which would let a VM's name open
    /// another address.
    /// </summary>
    private static string? HostName(VmInfo vm) =>
        vm.Name.Split('.').Any(label => label.Length > 0 && !char.IsAsciiDigit(label[0])) ? vm.Name.ToLowerInvariant() : null;
}
