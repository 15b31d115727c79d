using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Specs;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Brings VMs to the YAML specs in files (Export-VmSpec writes them): creates a VM that is missing, changes what
/// differs where a step can (CPUs, memory and disk size of a stopped VM, published ports, volume attachments)
/// and warns about what cannot change (image, a smaller disk, hypervisor, init mode, network). Each step is validated, then confirmed through
/// ShouldProcess, so -WhatIf prints the plan. A file that is not valid YAML, or names an unknown key, fails with its
/// line and key, and nothing of it is applied. -AsJob applies the confirmed steps in a job.
/// </summary>
[Cmdlet(VerbsData.Import, "VmSpec", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(VmSpecResult), typeof(Job))]
public sealed class ImportVmSpecCommand : VmCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>Apply each spec in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var file in ParameterSetName == LiteralPathSet ? LiteralPath.Select(SessionState.Path.GetUnresolvedProviderPathFromPSPath) : Path.SelectMany(Resolve))
        {
            try
            {
                foreach (var spec in VmSpecYaml.Read(ReadBounded(file), file))
                {
                    Import(spec, file);
                }
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }

    private IEnumerable<string> Resolve(string path)
    {
        try
        {
            return GetResolvedProviderPathFromPSPath(path, out _);
        }
        catch (ItemNotFoundException exception)
        {
            WriteError(new ErrorRecord(exception, VmPsErrorIds.HostFileNotFound, ErrorCategory.ObjectNotFound, path));
            return [];
        }
    }

    private static string ReadBounded(string file)
    {
        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw new VmPsException(VmPsErrorIds.HostFileNotFound, VmPsErrorKind.ObjectNotFound, $"'{file}' does not exist.", file);
        }

        if (info.Length > VmSpecYaml.MaxFileBytes)
        {
            throw new VmPsException(
                VmPsErrorIds.VmSpecTooLarge, VmPsErrorKind.LimitsExceeded, $"{file}: a VM spec file is at most {VmSpecYaml.MaxFileBytes} bytes.", file);
        }

        return File.ReadAllText(file);
    }

    /// <summary>
    /// One spec: the plan, then every step validated and confirmed (so -WhatIf checks them all), then the confirmed
    /// steps applied in order, here or with -AsJob in a job; the first failing step ends this VM's import.
    /// </summary>
    private void Import(Core.Vms.VmCreateOptions spec, string file)
    {
        try
        {
            var current = Await(cancellationToken => VmSpecState.ReadAsync(Services, spec.Name, cancellationToken));
            var plan = VmSpecPlanner.Plan(spec, current);
            foreach (var problem in plan.Unchangeable)
            {
                WriteWarning($"VM '{plan.VmName}': {problem}");
            }

            var confirmed = new List<VmSpecChange>();
            foreach (var change in plan.Changes)
            {
                Await(cancellationToken => change.ValidateAsync(Services, cancellationToken));
                if (ShouldProcess(plan.VmName, change.Action))
                {
                    confirmed.Add(change);
                }
            }

            if (plan.Changes.Count > 0 && confirmed.Count == 0)
            {
                return;
            }

            var activity = $"Importing the spec of VM '{plan.VmName}'";
            RunOperation(AsJob, plan.VmName, activity, async (report, cancellationToken) =>
            {
                foreach (var (change, index) in confirmed.Select((change, index) => (change, index)))
                {
                    report.Report(new VmProgress(activity, change.Action, index * 100 / confirmed.Count));
                    await change.ApplyAsync(Services, cancellationToken).ConfigureAwait(false);
                }

                var outcome = current is null ? VmSpecOutcome.Created : confirmed.Count > 0 ? VmSpecOutcome.Changed : VmSpecOutcome.Unchanged;
                return PSTypeNames.Tag(
                    new VmSpecResult { Name = plan.VmName, Outcome = outcome, Changes = confirmed.ConvertAll(change => change.Action), NotChanged = plan.Unchangeable, Path = file },
                    PSTypeNames.VmSpecResult);
            });
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
