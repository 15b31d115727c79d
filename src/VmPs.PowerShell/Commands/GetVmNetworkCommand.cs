using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets VM networks, all of them or those named (wildcards allowed). Each one is compared with the
/// host: Status says whether its bridge, address, forwarding, rules and VMs' TAPs are as recorded,
/// and Problems what differs. Nothing on the host is changed; Repair-VmNetwork repairs.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmNetwork")]
[OutputType(typeof(NetworkInfo))]
public sealed class GetVmNetworkCommand : NetworkCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [Alias("Network")]
    [NetworkName(FollowVms = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var pattern in Name ?? ["*"])
        {
            try
            {
                if (WildcardPattern.ContainsWildcardCharacters(pattern))
                {
                    foreach (var network in MatchingNetworks(pattern))
                    {
                        WriteNetwork(network);
                    }

                    continue;
                }

                WriteNetwork(Await(cancellationToken => Manager.GetAsync(pattern, cancellationToken)));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
