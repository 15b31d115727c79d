using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Creates a VM network: a bridge with the gateway address, its firewall rules and an address pool.</summary>
[Cmdlet(VerbsCommon.New, "VmNetwork", SupportsShouldProcess = true, DefaultParameterSetName = NatSet)]
[OutputType(typeof(NetworkInfo))]
public sealed class NewVmNetworkCommand : NetworkCmdlet
{
    private const string NatSet = "Nat";
    private const string NoNatSet = "NoNat";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Subnet { get; set; } = string.Empty;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Gateway { get; set; }

    /// <summary>Masquerade the VMs' traffic out of the host (the default).</summary>
    [Parameter(ParameterSetName = NatSet)]
    public SwitchParameter Nat { get; set; }

    /// <summary>A host-only network: VMs reach the gateway and each other, nothing beyond.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NoNatSet)]
    public SwitchParameter NoNat { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter Isolated { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Dns { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Uplink")]
    [ValidateNotNullOrEmpty]
    public string? UplinkInterface { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(576, 65535)]
    public int? Mtu { get; set; }

    protected override void ProcessRecord()
    {
        var options = new NetworkCreateOptions
        {
            Name = Name,
            Subnet = Subnet,
            Gateway = Gateway,
            Nat = !NoNat,
            Isolated = Isolated,
            Dns = Dns ?? [],
            UplinkInterface = UplinkInterface,
            Mtu = Mtu,
        };
        try
        {
            Await(cancellationToken => Manager.ValidateCreateAsync(options, cancellationToken));
            if (!ShouldProcess(Name, $"Create VM network {Subnet}"))
            {
                return;
            }

            WriteNetwork(AwaitWithStatus($"Creating VM network '{Name}'", "Bridge and rules", cancellationToken => Manager.CreateAsync(options, cancellationToken)));
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
