using System.Diagnostics;
using System.Text;
using VmPs.Protocol.Framing;
using VmPs.Tests.PowerShell;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// Enter-Vm, in pwsh with the built module on a pseudo-terminal (made by script), against a hostile agent: every
/// malformed reply to the interactive shell's ExecStart ends the session with a specific error and gives the terminal
/// back; an endless line of output passes through to the terminal without being held.
/// </summary>
public sealed class HostileGuestTerminalTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    // What the session keeps of the terminal's output: its end, where the result line is.
    private const int KeptOutputChars = 64 * 1024;

    private sealed record HostileCase(string Name, HostileExecScript Script, params string[] Expected);

    [Fact]
    public async Task Every_hostile_reply_to_an_interactive_shell_ends_Enter_Vm_with_a_specific_error()
    {
        var failures = new List<string>();
        var cases = Cases().ToList();
        foreach (var hostile in cases)
        {
            await using var vm = await HostileVm.StartAsync(hostile.Script);
            var result = await RunEnterVmAsync(vm.Home);
            if (hostile.Expected.Any(expected => result.Contains($"enter-result: {expected}|", StringComparison.Ordinal)) && result.Contains("terminal-restored", StringComparison.Ordinal))
            {
                output.WriteLine($"handled  {hostile.Name}: {result.Trim()}");
            }
            else
            {
                failures.Add($"{hostile.Name}: {result}");
            }
        }

        output.WriteLine($"Hostile guest replies to Enter-Vm: {cases.Count} tried, {cases.Count - failures.Count} refused or passed through within bounds.");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private static IEnumerable<HostileCase> Cases()
    {
        yield return new("an ExecStarted that is not JSON", new() { StartedPayload = "{pid:"u8.ToArray() }, "AgentProtocolError");
        yield return new("an ExecStarted of 1 MiB", new() { StartedPayload = new byte[1024 * 1024] }, "AgentProtocolError");
        yield return new("an ExecExit that is not JSON", new() { ExitPayload = "[]"u8.ToArray() }, "AgentProtocolError");
        yield return new("a frame header claiming 2 GiB", new() { RawAfterStart = [(byte)'V', (byte)'P', (byte)FrameType.Stdout, 0, 0, 0, 0, 1, 0x80, 0, 0, 0] }, "AgentProtocolError");
        yield return new("bytes that are not frames", new() { RawAfterStart = "HTTP/1.1 200 OK\r\n\r\n"u8.ToArray() }, "AgentProtocolError", "AgentConnectionLost");

        // A terminal shows what comes, as it comes: 64 MiB in one line is streamed through, never held, and the shell's exit is 0.
        yield return new("64 MiB of output in one line", new() { OutputBytes = 64L * 1024 * 1024, OneLine = true }, "none");
    }

    /// <summary>Enter-Vm on a pseudo-terminal; the end of what the terminal showed, with the "enter-result:" line.</summary>
    private static async Task<string> RunEnterVmAsync(string home)
    {
        var command = $"Import-Module '{ModuleLayout.ModuleDirectory}'; $before = stty -g; " +
            $"Enter-Vm {HostileVm.Name} -ErrorVariable failure -ErrorAction SilentlyContinue; " +
            "\"enter-result: $(if ($failure) { $failure[0].FullyQualifiedErrorId.Split(',')[0] } else { 'none' })|$LASTEXITCODE\"; " +
            "if ((stty -g) -eq $before) { 'terminal-restored' }";
        var start = new ProcessStartInfo("script", ["-qec", $"{VmPs.Tests.Infrastructure.Pwsh.Path} -NoProfile -Command \"{command.Replace("\"", "\\\"").Replace("$", "\\$")}\"", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        start.Environment["VMPS_HOME"] = home;
        using var session = Process.Start(start)!;
        var kept = new StringBuilder();
        var buffer = new char[64 * 1024];
        using var guard = new CancellationTokenSource(HangGuard);
        int read;
        while ((read = await session.StandardOutput.ReadAsync(buffer, guard.Token)) > 0)
        {
            kept.Append(buffer, 0, read);
            if (kept.Length > 2 * KeptOutputChars)
            {
                kept.Remove(0, kept.Length - KeptOutputChars);
            }
        }

        await session.WaitForExitAsync(guard.Token);
        return kept.ToString();
    }
}
