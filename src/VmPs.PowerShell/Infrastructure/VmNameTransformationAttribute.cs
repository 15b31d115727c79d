using System.Collections;
using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Lets a VM parameter take what a pipeline carries: VM objects (Get-Vm), names, or any object with a
/// VmName or Name property (a VmCommandResult, Import-Csv rows). Each becomes the VM's name.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class VmNameTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) =>
        PSObject.AsPSObject(inputData).BaseObject is IEnumerable items and not string
            ? items.Cast<object>().Select(NameOf).ToArray()
            : new[] { NameOf(inputData) };

    private static string NameOf(object item)
    {
        var value = PSObject.AsPSObject(item);
        return value.BaseObject switch
        {
            VmInfo vm => vm.Name,
            string name => name,
            _ => PropertyText(value, "VmName") ?? PropertyText(value, "Name")
                ?? throw new ArgumentTransformationMetadataException($"'{value}' is not a VM: pass VM objects (Get-Vm), names, or objects with a VmName or Name property."),
        };
    }

    private static string? PropertyText(PSObject value, string property) =>
        value.Properties[property]?.Value is { } text ? LanguagePrimitives.ConvertTo<string>(text) : null;
}
