using System.Diagnostics;
using System.Text;
using VmPs.Core.Native;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.SshGateway;

/// <summary>
/// A running ssh client the test types into, as a person at a terminal would: on a pseudo-terminal of a known size
/// (made by script), which the test can resize as a terminal window is, its input written line by line, all it
/// printed kept and searched. The whole session is bounded (two minutes); disposing kills ssh if it still runs.
/// </summary>
internal sealed class InteractiveSsh : IDisposable
{
    private const ulong SetWindowSize = 0x5414; // TIOCSWINSZ

    private readonly CancellationTokenSource lifetime = new(TimeSpan.FromMinutes(2));
    private readonly StringBuilder output = new();
    private readonly Process process;
    private readonly Task reader;

    /// <param name="command">The ssh command line (ssh or ip netns exec NS ssh, then ssh's arguments).</param>
    public InteractiveSsh(IReadOnlyList<string> command, int rows, int columns)
    {
        var quoted = string.Join(' ', command.Select(word => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var startInfo = new ProcessStartInfo("script", ["-qec", $"stty rows {rows} cols {columns} && exec {quoted}", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        process = Process.Start(startInfo)!;
        reader = Task.WhenAll(PumpAsync(process.StandardOutput.BaseStream), PumpAsync(process.StandardError.BaseStream));
    }

    /// <summary>Everything ssh printed so far (the pty's echo of what was typed included).</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public async Task TypeLineAsync(string line)
    {
        await process.StandardInput.WriteAsync(line + "\n");
        await process.StandardInput.FlushAsync();
    }

    /// <summary>Types <paramref name="line"/> again every half second until ssh printed <paramref name="text"/>, failing as <see cref="WaitForOutputAsync"/> does.</summary>
    public async Task TypeLineUntilOutputAsync(string line, string text)
    {
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            AssertRunning(text);
            await TypeLineAsync(line);
            await Task.Delay(500);
        }
    }

    /// <summary>Waits until ssh printed <paramref name="text"/>, failing with what it printed when it ends or times out first.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            AssertRunning(text);
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Resizes ssh's terminal as a terminal window does: TIOCSWINSZ on its pty, on which the kernel sends ssh SIGWINCH.
    /// </summary>
    public void Resize(int rows, int columns)
    {
        var ssh = ProcessProbe.ChildrenOf(process.Id).Single(child => Path.GetFileName(ProcessProbe.ProgramOf(child.Pid)) == "ssh");
        using var terminal = File.OpenHandle($"/proc/{ssh.Pid}/fd/0", FileMode.Open, FileAccess.ReadWrite);
        byte[] size = [(byte)rows, (byte)(rows >> 8), (byte)columns, (byte)(columns >> 8), 0, 0, 0, 0];
        Assert.Equal(0, Libc.ioctl((int)terminal.DangerousGetHandle(), SetWindowSize, size));
    }

    private void AssertRunning(string awaited) =>
        Assert.False(process.HasExited || lifetime.IsCancellationRequested, $"ssh printed no '{awaited}' ({(process.HasExited ? $"it ended with {process.ExitCode}" : "timed out")}): {Output}");

    public async Task<int> WaitForExitAsync()
    {
        await process.WaitForExitAsync(lifetime.Token);
        await reader;
        return process.ExitCode;
    }

    private async Task PumpAsync(Stream stream)
    {
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            lock (output)
            {
                output.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
        lifetime.Dispose();
    }
}
