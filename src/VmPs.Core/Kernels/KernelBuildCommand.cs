using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using VmPs.Core.Native;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Kernels;

/// <summary>
/// Runs one program of a kernel build (tar, make, merge_config.sh) at the lowest CPU priority, in a process group
/// of its own (setsid), so that cancelling kills every compiler it started, not just make. Output lines (stdout
/// and stderr) go to the build log and to a callback; the last lines are kept for the error message. The group's
/// leader is recorded in a pid file, so that the next build kills a group whose VmPs process was killed.
/// ExternalTool reads whole outputs into strings; a kernel build prints thousands of lines over many minutes.
/// </summary>
internal sealed class KernelBuildCommand
{
    public const string PidFileName = "build.pid";

    private const int TailLines = 25;
    private const int SignalKill = 9;

    private readonly TextWriter log;
    private readonly string pidFile;
    private readonly string niceLevel;
    private readonly Queue<string> tail = new();
    private readonly object gate = new();

    /// <param name="log">The build log (every line of every program).</param>
    /// <param name="workDirectory">Where the pid file of the running program is kept.</param>
    /// <param name="niceLevel">The programs' nice value (19: only idle CPU time).</param>
    public KernelBuildCommand(TextWriter log, string workDirectory, int niceLevel)
    {
        this.log = log;
        pidFile = Path.Combine(workDirectory, PidFileName);
        this.niceLevel = niceLevel.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Runs the program to its end. A non-zero exit throws KernelBuildFailed naming <paramref name="step"/> with the
    /// last output lines; cancellation kills the process group and throws OperationCanceledException.
    /// </summary>
    /// <param name="writeInput">Writes the program's stdin (then closed); null: no input.</param>
    public async Task RunAsync(
        string step,
        string executable,
        IEnumerable<string> arguments,
        string workingDirectory,
        Action<string>? onLine,
        Func<Stream, CancellationToken, Task>? writeInput,
        CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = writeInput is not null,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["nice", "-n", niceLevel, executable, .. arguments])
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The C locale keeps the output parseable; fixed build user and host keep the banner free of this machine's names.
        startInfo.Environment["LC_ALL"] = "C";
        startInfo.Environment["KBUILD_BUILD_USER"] = "vmps";
        startInfo.Environment["KBUILD_BUILD_HOST"] = "vmps";
        await log.WriteLineAsync($"$ {executable} {string.Join(' ', arguments)}").ConfigureAwait(false);

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("setsid did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new VmPsException(VmPsErrorIds.ToolNotFound, VmPsErrorKind.NotInstalled, $"Cannot run setsid for '{executable}': {ex.Message}.", executable, ex);
        }

        using (process)
        {
            var leader = new ProcessIdentity(process.Id, ProcessProbe.ReadStartTime(process.Id) ?? 0);
            await PrivateFiles.WriteAllTextAsync(pidFile, $"{leader.Pid} {leader.StartTime}", CancellationToken.None).ConfigureAwait(false);
            try
            {
                var stdout = PumpAsync(process.StandardOutput, onLine);
                var stderr = PumpAsync(process.StandardError, onLine);
                if (writeInput is not null)
                {
                    try
                    {
                        await writeInput(process.StandardInput.BaseStream, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The program stopped reading (it failed): its exit code and output tell why.
                    }

                    process.StandardInput.Close();
                }

                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                KillGroup(leader);
                process.Kill(entireProcessTree: true);
                throw;
            }
            finally
            {
                File.Delete(pidFile);
            }

            if (process.ExitCode != 0)
            {
                throw new VmPsException(
                    VmPsErrorIds.KernelBuildFailed,
                    VmPsErrorKind.InvalidOperation,
                    $"The kernel build failed while {step}: {executable} exited with code {process.ExitCode}. Last output lines:{Environment.NewLine}{Tail()}",
                    executable);
            }
        }
    }

    /// <summary>The last output lines of the programs run so far.</summary>
    public string Tail()
    {
        lock (gate)
        {
            return string.Join(Environment.NewLine, tail);
        }
    }

    /// <summary>Kills the process group a killed build left running in <paramref name="workDirectory"/>, if it still runs.</summary>
    public static void KillLeftover(string workDirectory)
    {
        var pidFile = Path.Combine(workDirectory, PidFileName);
        if (!File.Exists(pidFile))
        {
            return;
        }

        var fields = File.ReadAllText(pidFile).Split(' ');
        if (fields.Length == 2
            && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
            && pid > 1
            && startTime > 0)
        {
            KillGroup(new ProcessIdentity(pid, startTime));
        }
    }

    private static void KillGroup(ProcessIdentity leader)
    {
        // The leader's start time guards against a reused pid: only a group we started is killed.
        if (ProcessProbe.IsRunning(leader))
        {
            _ = Libc.kill(-leader.Pid, SignalKill);
        }
    }

    private async Task PumpAsync(StreamReader reader, Action<string>? onLine)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (gate)
            {
                log.WriteLine(line);
                tail.Enqueue(line);
                if (tail.Count > TailLines)
                {
                    tail.Dequeue();
                }
            }

            onLine?.Invoke(line);
        }
    }
}
