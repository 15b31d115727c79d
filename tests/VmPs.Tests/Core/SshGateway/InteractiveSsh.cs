using System.Diagnostics;
using System.Text;

namespace VmPs.Tests.Core.SshGateway;

/// <summary>
/// A running ssh client the test types into, as a person at a terminal would: its stdin written line by line, all it
/// printed kept and searched. The whole session is bounded (two minutes); disposing kills ssh if it still runs.
/// </summary>
internal sealed class InteractiveSsh : IDisposable
{
    private readonly CancellationTokenSource lifetime = new(TimeSpan.FromMinutes(2));
    private readonly StringBuilder output = new();
    private readonly Process process;
    private readonly Task reader;

    public InteractiveSsh(IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo("ssh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

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

    /// <summary>Waits until ssh printed <paramref name="text"/>, failing with what it printed when it ends or times out first.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(process.HasExited || lifetime.IsCancellationRequested, $"ssh printed no '{text}' ({(process.HasExited ? $"it ended with {process.ExitCode}" : "timed out")}): {Output}");
            await Task.Delay(50);
        }
    }

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
