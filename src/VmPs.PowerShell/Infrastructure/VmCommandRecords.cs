using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>The pipeline objects Invoke-VmCommand makes of a guest command's output.</summary>
internal static class VmCommandRecords
{
    /// <summary>FullyQualifiedErrorId prefix of the error records carrying -Stream's stderr lines.</summary>
    public const string StandardErrorId = VmPsErrorIds.VmCommandStandardError;

    /// <summary>A stdout line as a string tagged with a VmName note property, as Invoke-Command tags PSComputerName.</summary>
    public static PSObject OutputLine(string vmName, string text)
    {
        var line = new PSObject(text);
        line.Properties.Add(new PSNoteProperty("VmName", vmName));
        return line;
    }

    /// <summary>A stderr line, as pwsh shows a native command's stderr: the text, with the VM as target.</summary>
    public static ErrorRecord ErrorLine(string vmName, string text) =>
        new(new RemoteException(text), StandardErrorId, ErrorCategory.FromStdErr, vmName);

    public static PSObject Result(VmCommandResult result) => PSTypeNames.Tag(result, PSTypeNames.VmCommandResult);
}
