using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets VMs with their live state: all of them, those named (wildcards allowed), or those on a network or made
/// from an image (Get-VmNetwork lab | Get-Vm).
/// </summary>
[Cmdlet(VerbsCommon.Get, "Vm", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class GetVmCommand : VmCmdlet
{
    private const string NameSet = "Name";
    private const string NetworkSet = "Network";
    private const string ImageSet = "Image";

    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("VmName")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The VMs whose adapter is on these networks.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkSet, ValueFromPipeline = true)]
    [NetworkName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Network { get; set; } = [];

    /// <summary>The VMs made from these images.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageSet, ValueFromPipeline = true)]
    [ImageName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Image { get; set; } = [];

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case NetworkSet:
                WriteVmsWhere(vm => vm.Network, Network);
                break;
            case ImageSet:
                WriteVmsWhere(vm => vm.Image, Image);
                break;
            default:
                WriteNamedVms(Name ?? ["*"]);
                break;
        }
    }

    private void WriteNamedVms(IEnumerable<string> patterns)
    {
        foreach (var pattern in patterns)
        {
            if (WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                foreach (var vm in MatchingVms(pattern))
                {
                    WriteVm(vm);
                }

                continue;
            }

            try
            {
                WriteVm(Await(cancellationToken => Manager.GetAsync(pattern, cancellationToken)));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }

    /// <summary>The VMs whose network or image matches one of the patterns, in name order.</summary>
    private void WriteVmsWhere(Func<VmInfo, string?> property, IEnumerable<string> patterns)
    {
        var wildcards = patterns.Select(pattern => new WildcardPattern(pattern, WildcardOptions.IgnoreCase)).ToList();
        foreach (var vm in Await(Manager.GetAllAsync).Where(vm => property(vm) is { } value && wildcards.Any(wildcard => wildcard.IsMatch(value))).OrderBy(vm => vm.Name, StringComparer.Ordinal))
        {
            WriteVm(vm);
        }
    }
}
