using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.Agent;
using VmPs.Core.SshGateway;
using VmPs.Core.Terminals;

namespace VmPs.SshGateway;

/// <summary>
/// One SSH session of a user: the login name says which mode (<see cref="SshGatewayKeys.ResolveLoginAsync"/>). "vmps"
/// or the user's own name runs a command of command mode; a VM's name runs its shell (or the client's command) through
/// the agent.
/// </summary>
internal static class GatewaySession
{
    private const int Refused = 1;

    public static async Task<int> RunAsync(Guid userId)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        var services = new VmPsServices(VmPsSettings.FromEnvironment());
        if (await services.Users.FindByIdAsync(userId, cancellation.Token).ConfigureAwait(false) is not { } user)
        {
            await Console.Error.WriteLineAsync("vmps: this key's user no longer exists.").ConfigureAwait(false);
            return Refused;
        }

        var loginName = Environment.GetEnvironmentVariable("USER") ?? "";
        var command = Environment.GetEnvironmentVariable("SSH_ORIGINAL_COMMAND");

        // The keys program let only the VM's owner and those it is shared with in; a grant revoked since is honoured here.
        switch (await SshGatewayKeys.ResolveLoginAsync(services.Users, user, loginName, cancellation.Token).ConfigureAwait(false))
        {
            case SshGatewayLogin.Commands:
                return await new SshGatewayCommands(services, user, Console.Out, Console.Error).RunAsync(command, cancellation.Token).ConfigureAwait(false);
            case null:
                await Console.Error.WriteLineAsync($"vmps: no VM '{loginName}' is yours or shared with you.").ConfigureAwait(false);
                return Refused;
        }

        try
        {
            return await ProxyAsync(services, loginName, command, cancellation.Token).ConfigureAwait(false);
        }
        catch (VmPsException failure)
        {
            await Console.Error.WriteLineAsync($"vmps: {failure.Message}").ConfigureAwait(false);
            return Refused;
        }
    }

    /// <summary>
    /// Proxy mode: the client's command (through the guest's /bin/sh, as sshd would run it) or, without one, an
    /// interactive shell, in the VM through its agent; on the session's pty when the client asked for one (raw bytes
    /// both ways, the window size followed), else on pipes. Returns the guest command's exit code.
    /// </summary>
    private static async Task<int> ProxyAsync(VmPsServices services, string vmName, string? command, CancellationToken cancellationToken)
    {
        var tty = LocalTerminal.IsTerminal(LocalTerminal.StandardInput) && LocalTerminal.IsTerminal(LocalTerminal.StandardOutput);
        await using var agent = await services.Vms.ConnectAgentAsync(vmName, cancellationToken).ConfigureAwait(false);
        var request = new AgentExecRequest(command is null ? ["/bin/sh"] : ["/bin/sh", "-c", command])
        {
            Tty = tty,
            TerminalSize = tty ? GuestTerminalSession.CurrentSize() : null,
            Environment = tty ? new Dictionary<string, string> { ["TERM"] = Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm" } : null,
        };
        var execution = await agent.StartExecAsync(request, cancellationToken).ConfigureAwait(false);
        var exit = tty
            ? await GuestTerminalSession.RunAsync(execution, cancellationToken).ConfigureAwait(false)
            : await RunOnPipesAsync(execution, cancellationToken).ConfigureAwait(false);
        return exit.ExitCode;
    }

    /// <summary>stdin to the guest until it ends (then the guest's stdin is closed), stdout and stderr apart.</summary>
    private static async Task<AgentExitStatus> RunOnPipesAsync(AgentExecution execution, CancellationToken cancellationToken)
    {
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        using var input = TerminalInputPump.Start(LocalTerminal.StandardInput, data => execution.WriteStandardInputAsync(data, cancellationToken).AsTask());
        _ = input.Stopped.ContinueWith(
            _ => execution.CloseStandardInputAsync(cancellationToken).AsTask(),
            cancellationToken,
            TaskContinuationOptions.None,
            TaskScheduler.Default).Unwrap();
        await foreach (var chunk in execution.Output.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var target = chunk.Stream == AgentOutputStream.Stderr ? stderr : stdout;
            await target.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
            await target.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return await execution.Completion.ConfigureAwait(false);
    }
}
