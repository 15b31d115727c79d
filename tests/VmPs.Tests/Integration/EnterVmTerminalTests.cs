using System.Diagnostics;
using System.Text;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.PowerShell;

namespace VmPs.Tests.Integration;

/// <summary>
/// Enter-Vm as a user meets it: pwsh with the built module on a pseudo-terminal (made by script), typing into
/// the shared VM's shell, Ctrl+C included, and coming back with the shell's exit code; with -Console, typing on
/// its serial console and detaching with Ctrl+].
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class EnterVmTerminalTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private readonly BootedBusyboxVm vm;

    public EnterVmTerminalTests(BootedBusyboxVm vm)
    {
        this.vm = vm;
    }

    [RequiresVmBootFact]
    public async Task Enter_Vm_runs_an_interactive_guest_shell_on_the_terminal_and_returns_its_exit_code()
    {
        var command = $"Import-Module '{ModuleLayout.ModuleDirectory}'; $before = stty -g; Enter-Vm {BootedBusyboxVm.Name}; " +
            "\"host-exit=$LASTEXITCODE\"; if ((stty -g) -eq $before) { 'terminal-restored' }";
        using var terminal = Launch(command);
        var (session, output, reading) = terminal;
        await WaitForAsync(output, "# ");
        // The process that prints the marker is the one Ctrl+C must reach: the shell child ash made the terminal's
        // foreground job, which then becomes sleep. (With "tty; sleep 600" the key could land while ash, between the
        // two commands, had not yet handed the terminal to sleep: ash holds that SIGINT back until sleep ends.)
        // sleep outlasts the wait below, so a press that got lost fails the test rather than only slowing it.
        await TypeAsync(session, "sh -c 'tty; exec sleep 600'\r");
        await WaitForAsync(output, "/dev/pts/");
        await TypeAsync(session, "\u0003");
        await WaitForAsync(output, "# ", after: "^C");
        await TypeAsync(session, "echo hi-$((6*7)); exit 7\r");
        await session.WaitForExitAsync().WaitAsync(HangGuard);
        await reading;

        var text = output.ToString();
        Assert.Contains("hi-42", text);
        Assert.Contains("host-exit=7", text);
        Assert.Contains("terminal-restored", text);
    }

    [RequiresVmBootFact]
    public async Task Enter_Vm_Console_attaches_the_terminal_to_the_serial_console_until_Ctrl_bracket()
    {
        var command = $"Import-Module '{ModuleLayout.ModuleDirectory}'; $before = stty -g; Enter-Vm {BootedBusyboxVm.Name} -Console; " +
            $"'after-detach'; (Get-Vm {BootedBusyboxVm.Name}).State; if ((stty -g) -eq $before) {{ 'terminal-restored' }}";
        using var terminal = Launch(command);
        var (session, output, reading) = terminal;

        await WaitForAsync(output, "Ctrl+] detaches");
        await vm.StartConsoleShellAsync();
        await WaitForAsync(output, "# ");
        await TypeAsync(session, "echo cmdlet-$((6*7))\r");
        await WaitForAsync(output, "cmdlet-42");
        await TypeAsync(session, "exit\r\u001d");
        await session.WaitForExitAsync().WaitAsync(HangGuard);
        await reading;

        var text = output.ToString();
        Assert.Contains("after-detach", text);
        Assert.Contains("Running", text[text.IndexOf("after-detach", StringComparison.Ordinal)..]);
        Assert.Contains("terminal-restored", text);
    }

    /// <summary>pwsh running <paramref name="command"/> on a pseudo-terminal, its output read as it comes.</summary>
    private Terminal Launch(string command)
    {
        var start = new ProcessStartInfo("script", ["-qec", $"{Pwsh.Path} -NoProfile -Command \"{command.Replace("\"", "\\\"").Replace("$", "\\$")}\"", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        start.Environment["VMPS_HOME"] = vm.Home.Paths.Root;
        var session = Process.Start(start)!;
        var output = new StringBuilder();
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await session.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });

        return new Terminal(session, output, reading);
    }

    private static async Task TypeAsync(Process session, string keys)
    {
        await session.StandardInput.WriteAsync(keys);
        await session.StandardInput.FlushAsync();
    }

    /// <summary>Waits until the output shows <paramref name="marker"/> (after the last <paramref name="after"/>, when given).</summary>
    private static async Task WaitForAsync(StringBuilder output, string marker, string? after = null)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (!Shows(output, marker, after))
        {
            await Task.Delay(50, guard.Token);
        }
    }

    private static bool Shows(StringBuilder output, string marker, string? after)
    {
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        var from = after is null ? 0 : text.LastIndexOf(after, StringComparison.Ordinal);
        return from >= 0 && text.IndexOf(marker, from, StringComparison.Ordinal) >= 0;
    }

    private sealed record Terminal(Process Session, StringBuilder Output, Task Reading) : IDisposable
    {
        public void Dispose() => Session.Dispose();
    }
}
