using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets VMs, all of them or those named (wildcards allowed), with their live state.
/// </summary>
[Cmdlet(VerbsCommon.Get, "Vm")]
[OutputType(typeof(VmInfo))]
public sealed class GetVmCommand : VmCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("VmName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var pattern in Name ?? ["*"])
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
}
