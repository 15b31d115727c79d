using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Specs;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Writes VMs' definitions as YAML specs (image, resources, network, ports, volumes) that Import-VmSpec creates or
/// brings VMs back to. With -Path every VM piped in goes into that one file, a YAML document each; without it each
/// VM's spec is written to the pipeline as a string.
/// </summary>
[Cmdlet(VerbsData.Export, "VmSpec", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(string))]
public sealed class ExportVmSpecCommand : VmTargetCmdlet
{
    private readonly List<VmCreateOptions> specs = [];

    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Refuse to replace an existing file (as Export-Csv -NoClobber).</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    protected override void ProcessVm(string name)
    {
        var spec = Await(cancellationToken => VmSpecState.GetAsync(Services, name, cancellationToken));
        if (Path is null)
        {
            WriteObject(VmSpecYaml.Write([spec]));
        }
        else
        {
            specs.Add(spec);
        }
    }

    protected override void EndProcessing()
    {
        base.EndProcessing();
        if (Path is null || specs.Count == 0)
        {
            return;
        }

        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (NoClobber && File.Exists(path))
        {
            WriteError(new ErrorRecord(
                new IOException($"'{path}' already exists; -NoClobber keeps it."), VmPsErrorIds.HostFileExists, ErrorCategory.ResourceExists, path));
            return;
        }

        if (ShouldProcess(path, $"Write the spec of {string.Join(", ", specs.Select(spec => spec.Name))}"))
        {
            File.WriteAllText(path, VmSpecYaml.Write(specs));
        }
    }
}
