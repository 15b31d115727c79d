using System.Runtime.InteropServices;
using System.Text;
using VmPs.Core.Agent;
using VmPs.Core.Vms;

namespace VmPs.Core.Terminals;

/// <summary>
/// Joins the local terminal (pwsh's, or an SSH session's) to a TTY exec in the guest: keystrokes go to the guest's terminal as raw bytes
/// (so Ctrl+C is the guest's), its output goes to the local terminal unchanged, window size changes follow
/// (SIGWINCH). The local terminal is in raw mode only while the session runs and is restored however it ends.
/// The same for a VM's serial console, which has no window size to follow and ends at the detach key.
/// </summary>
public static class GuestTerminalSession
{
    public static async Task<AgentExitStatus> RunAsync(AgentExecution execution, CancellationToken cancellationToken)
    {
        using var output = Console.OpenStandardOutput();
        using var rawMode = LocalTerminal.EnterRawMode(LocalTerminal.StandardInput);
        // VmPs runs on Linux only; the guard tells the platform analyzer so.
        using var resizes = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => ForwardWindowSize(execution));
        using var input = TerminalInputPump.Start(LocalTerminal.StandardInput, data => execution.WriteStandardInputAsync(data, cancellationToken).AsTask());
        await foreach (var chunk in execution.Output.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await output.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return await execution.Completion.ConfigureAwait(false);
    }

    public static async Task<SerialConsoleEnd> RunConsoleAsync(SerialConsoleSession session, string vmName, CancellationToken cancellationToken)
    {
        using var output = Console.OpenStandardOutput();
        var banner = Encoding.UTF8.GetBytes($"Attached to VM '{vmName}'s serial console; {ConsoleDetachKey.Name} detaches.\r\n");
        await output.WriteAsync(banner, cancellationToken).ConfigureAwait(false);
        using var rawMode = LocalTerminal.EnterRawMode(LocalTerminal.StandardInput);
        using var input = TerminalInputPump.Start(LocalTerminal.StandardInput, data => session.SendAsync(data, cancellationToken));
        var end = await session.RunAsync(output, cancellationToken).ConfigureAwait(false);
        // The guest's last line may not have ended: pwsh's next output starts on a line of its own.
        await output.WriteAsync("\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        return end;
    }

    public static AgentTerminalSize CurrentSize() =>
        LocalTerminal.WindowSize(LocalTerminal.StandardOutput) is var (columns, rows) ? new AgentTerminalSize(columns, rows) : new AgentTerminalSize(80, 24);

    private static void ForwardWindowSize(AgentExecution execution)
    {
        var size = CurrentSize();
        _ = Task.Run(async () =>
        {
            try
            {
                await execution.ResizeTerminalAsync(size.Columns, size.Rows, CancellationToken.None).ConfigureAwait(false);
            }
            catch (VmPsException)
            {
                // The session is ending; the output loop reports why.
            }
        });
    }
}
