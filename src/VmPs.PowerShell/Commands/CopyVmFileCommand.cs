using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Copies files and directory trees between the host and a running VM through its guest agent (no SSH):
/// -ToVm copies host paths (wildcards allowed, relative to the current location) into the guest; -FromVm copies
/// a guest path to the host. Like cp: a destination that is a directory (or ends with /) receives the source
/// under its own name. Directories need -Recurse; existing destinations need -Force; a missing destination directory
/// needs -CreateFullPath. Copies belong to the user who writes them unless -PreserveOwnership. -AsJob copies in a job.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "VmFile", SupportsShouldProcess = true, DefaultParameterSetName = NameToVmSet)]
[OutputType(typeof(GuestFileInfo), typeof(FileSystemInfo), typeof(Job))]
public sealed class CopyVmFileCommand : VmCmdlet
{
    private const string NameToVmSet = "NameToVm";
    private const string NameFromVmSet = "NameFromVm";
    private const string InputObjectToVmSet = "InputObjectToVm";
    private const string InputObjectFromVmSet = "InputObjectFromVm";
    private const double MiB = 1024 * 1024;

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameToVmSet, ValueFromPipeline = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameFromVmSet, ValueFromPipeline = true)]
    [Alias("VmName")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>
    /// A VM object given by argument. Piped VMs bind to -Name: with both taking them, a pipeline with -FromVm or -ToVm
    /// (which rule out the default set) could not choose between the Name and InputObject sets.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectToVmSet)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectFromVmSet)]
    [ValidateNotNull]
    public VmInfo? InputObject { get; set; }

    /// <summary>What to copy: host paths with -ToVm (wildcards allowed), one absolute guest path with -FromVm.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameToVmSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameFromVmSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectToVmSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectFromVmSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    /// <summary>Where to: an absolute guest path with -ToVm, a host path with -FromVm.</summary>
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = NameToVmSet)]
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = NameFromVmSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = InputObjectToVmSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = InputObjectFromVmSet)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = NameToVmSet)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectToVmSet)]
    public SwitchParameter ToVm { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = NameFromVmSet)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectFromVmSet)]
    public SwitchParameter FromVm { get; set; }

    [Parameter]
    public SwitchParameter Recurse { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Creates the destination directory (and its parents) when it does not exist, as Hyper-V's Copy-VMFile does.</summary>
    [Parameter]
    public SwitchParameter CreateFullPath { get; set; }

    /// <summary>
    /// Keeps the source's owners (and, out of a VM, its permission bits; setuid and setgid are dropped all the same).
    /// Without it a copy belongs to whoever writes it: root in the guest, the invoking user on the host.
    /// </summary>
    [Parameter]
    public SwitchParameter PreserveOwnership { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Copy in a background job (one child job per source) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        string vmName;
        try
        {
            vmName = InputObject?.Name ?? Await(cancellationToken => Manager.GetAsync(Name, cancellationToken)).Name;
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
            return;
        }

        if (ToVm)
        {
            var sources = Path.SelectMany(ResolveHostSources).ToList();
            // Several sources can only go into a directory.
            var destination = sources.Count > 1 && !Destination.EndsWith('/') ? Destination + "/" : Destination;
            foreach (var source in sources)
            {
                Copy(vmName, source, destination, toVm: true);
            }
        }
        else
        {
            var destination = GetUnresolvedProviderPathFromPSPath(Destination);
            destination = Destination.EndsWith('/') || Destination.EndsWith('\\') ? destination.TrimEnd('/') + "/" : destination;
            foreach (var source in Path)
            {
                Copy(vmName, source, destination, toVm: false);
            }
        }
    }

    private IEnumerable<string> ResolveHostSources(string path)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(path))
        {
            return [GetUnresolvedProviderPathFromPSPath(path)];
        }

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

    private void Copy(string vmName, string source, string destination, bool toVm)
    {
        var description = toVm ? $"Copy '{source}' to '{destination}' in the VM" : $"Copy '{source}' from the VM to '{destination}'";
        if (!ShouldProcess(vmName, description))
        {
            return;
        }

        try
        {
            RunOperation(AsJob, vmName, $"Copy-VmFile {vmName}", async (report, cancellationToken) =>
            {
                await using var client = await Manager.ConnectAgentAsync(vmName, cancellationToken).ConfigureAwait(false);
                var files = new AgentFileClient(client);
                var bytes = new Progress(report, $"{source} -> {destination}");
                var options = new GuestCopyOptions { Recurse = Recurse, Overwrite = Force, PreserveOwnership = PreserveOwnership, CreateFullPath = CreateFullPath };
                var result = toVm
                    ? await files.CopyToGuestAsync(source, destination, options, bytes, cancellationToken).ConfigureAwait(false)
                    : await files.CopyFromGuestAsync(source, destination, options, bytes, cancellationToken).ConfigureAwait(false);
                return !PassThru ? null
                    : toVm ? GuestFileOutput(vmName, await files.StatAsync(result.Destination, cancellationToken).ConfigureAwait(false))
                    : PSObject.AsPSObject(Directory.Exists(result.Destination) ? new DirectoryInfo(result.Destination) : new FileInfo(result.Destination));
            });
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private static PSObject GuestFileOutput(string vmName, GuestFileInfo guestFile)
    {
        var wrapped = PSTypeNames.Tag(guestFile, PSTypeNames.GuestFile);
        wrapped.Properties.Add(new PSNoteProperty("VmName", vmName));
        return wrapped;
    }

    /// <summary>Byte counts as Write-Progress updates: "3.0 of 50.0 MiB" and the percentage.</summary>
    private sealed class Progress(IProgress<VmProgress> progress, string activity) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) =>
            progress.Report(new VmProgress(activity, $"{value.Bytes / MiB:0.0} of {value.TotalBytes / MiB:0.0} MiB", value.PercentComplete) { Step = activity });
    }
}
