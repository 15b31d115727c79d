using System.Collections;
using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Runs a command in VMs through their guest agent and returns its exit code and output.
/// -Command is an argument vector (Invoke-VmCommand web -Command uname, -r); -ScriptBlock's
/// text is run by the guest's /bin/sh -c (Invoke-VmCommand web { uname -a }). A non-zero exit code is a result,
/// not an error.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "VmCommand", SupportsShouldProcess = true, DefaultParameterSetName = NameCommandSet)]
[OutputType(typeof(VmCommandResult))]
public sealed class InvokeVmCommandCommand : VmCmdlet
{
    private const string NameCommandSet = "NameCommand";
    private const string NameScriptBlockSet = "NameScriptBlock";
    private const string InputObjectCommandSet = "InputObjectCommand";
    private const string InputObjectScriptBlockSet = "InputObjectScriptBlock";

    // Takes no pipeline input: PowerShell would then treat a positional script block as a delay-bind script block,
    // run it locally for each piped VM and use its output as the names ($vm | Invoke-VmCommand { uname }).
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameCommandSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameScriptBlockSet)]
    [Alias("VmName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectCommandSet, ValueFromPipeline = true)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectScriptBlockSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo[] InputObject { get; set; } = [];

    /// <summary>The program and its arguments, run without a shell.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameCommandSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectCommandSet)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    /// <summary>Shell text for the guest's /bin/sh -c; it is not PowerShell and runs in the guest.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameScriptBlockSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectScriptBlockSet)]
    [ValidateNotNull]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <summary>Environment variables added to the command's environment.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Environment { get; set; }

    /// <summary>Directory in the guest to run the command in.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Kill the command when it runs longer than this.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    protected override void ProcessRecord()
    {
        var fromPipeline = ParameterSetName is InputObjectCommandSet or InputObjectScriptBlockSet;
        var options = CreateOptions();
        ForEachTarget(fromPipeline ? InputObject : null, Name, name => Invoke(name, options));
    }

    private void Invoke(string name, VmExecOptions options)
    {
        if (ShouldProcess(name, $"Run '{string.Join(' ', options.Command)}'"))
        {
            WriteTypedObject(Await(cancellationToken => Manager.ExecAsync(name, options, cancellationToken)), PSTypeNames.VmCommandResult);
        }
    }

    private VmExecOptions CreateOptions() => new()
    {
        Command = ScriptBlock is null ? Command : ["/bin/sh", "-c", ScriptBlock.ToString().Trim()],
        Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(
            entry => LanguagePrimitives.ConvertTo<string>(entry.Key),
            entry => LanguagePrimitives.ConvertTo<string>(entry.Value) ?? "",
            StringComparer.Ordinal),
        WorkingDirectory = WorkingDirectory,
        Timeout = Seconds(TimeoutSec),
    };
}
