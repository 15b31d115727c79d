using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Terminals;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Opens an interactive shell in a running VM on a real terminal, like Enter-PSSession: the local terminal is
/// put in raw mode, so every key (Ctrl+C, Ctrl+D, arrows) goes to the guest; the window size follows. Returns
/// when the guest shell exits, and sets $LASTEXITCODE to its exit code. With -Console it attaches the terminal to the
/// VM's serial console instead (no agent needed: installers, VMs without the agent) until the user types the detach key.
/// </summary>
[Cmdlet(VerbsCommon.Enter, "Vm", DefaultParameterSetName = NameSet)]
public sealed class EnterVmCommand : VmCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";
    private const string NameConsoleSet = "NameConsole";
    private const string InputObjectConsoleSet = "InputObjectConsole";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameConsoleSet, ValueFromPipeline = true)]
    [Alias("VmName")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectConsoleSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo? InputObject { get; set; }

    /// <summary>The guest program to run on the terminal.</summary>
    [Parameter(ParameterSetName = NameSet)]
    [Parameter(ParameterSetName = InputObjectSet)]
    [ValidateNotNullOrEmpty]
    public string Shell { get; set; } = "/bin/sh";

    [Parameter(ParameterSetName = NameSet)]
    [Parameter(ParameterSetName = InputObjectSet)]
    [ValidateNotNullOrEmpty]
    public string? User { get; set; }

    [Parameter(ParameterSetName = NameSet)]
    [Parameter(ParameterSetName = InputObjectSet)]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Attach to the serial console rather than run a shell through the agent.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameConsoleSet)]
    [Parameter(Mandatory = true, ParameterSetName = InputObjectConsoleSet)]
    public SwitchParameter Console { get; set; }

    protected override void ProcessRecord()
    {
        var name = InputObject?.Name ?? Name;
        if (!LocalTerminal.IsTerminal(LocalTerminal.StandardInput) || !LocalTerminal.IsTerminal(LocalTerminal.StandardOutput))
        {
            ThrowTerminatingError(new VmPsException(
                VmPsErrorIds.EnterVmNeedsTerminal,
                VmPsErrorKind.InvalidOperation,
                "Enter-Vm needs an interactive terminal, but this session's input or output is redirected.",
                name)
            {
                RecommendedAction = "Run Enter-Vm from an interactive pwsh, or use Invoke-VmCommand to run commands non-interactively.",
            });
        }

        try
        {
            if (Console)
            {
                if (Await(cancellationToken => RunConsoleAsync(name, cancellationToken)) == SerialConsoleEnd.ConsoleClosed)
                {
                    WriteWarning($"VM '{name}' closed its console: it stopped.");
                }

                return;
            }

            var exit = Await(cancellationToken => RunShellAsync(name, cancellationToken));
            SessionState.PSVariable.Set("global:LASTEXITCODE", exit.ExitCode);
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private async Task<SerialConsoleEnd> RunConsoleAsync(string name, CancellationToken cancellationToken)
    {
        await using var session = await Manager.AttachConsoleAsync(name, cancellationToken).ConfigureAwait(false);
        return await GuestTerminalSession.RunConsoleAsync(session, name, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AgentExitStatus> RunShellAsync(string name, CancellationToken cancellationToken)
    {
        await using var agent = await Manager.ConnectAgentAsync(name, cancellationToken).ConfigureAwait(false);
        var request = new AgentExecRequest([Shell])
        {
            Tty = true,
            TerminalSize = GuestTerminalSession.CurrentSize(),
            User = User,
            WorkingDirectory = WorkingDirectory,
            Environment = new Dictionary<string, string> { ["TERM"] = System.Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm" },
        };
        var execution = await agent.StartExecAsync(request, cancellationToken).ConfigureAwait(false);
        return await GuestTerminalSession.RunAsync(execution, cancellationToken).ConfigureAwait(false);
    }
}
