using System.Diagnostics;
using System.Text;

namespace VmPs.Core.Processes;

/// <summary>The outcome of one run of an external program.</summary>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Runs host tools (mkfs.erofs, mkfs.ext4, qemu-img, ip, nft) to completion with an argument array,
/// never a shell string, and keeps their stderr for the error message. Cancellation or the timeout
/// kills the tool and everything it started. (Hypervisors, which outlive the session, are started
/// by <see cref="DetachedProcess"/> instead.)
/// </summary>
public static class ExternalTool
{
    public static async Task<ToolResult> RunAsync(
        string executable,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        string? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{executable} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new VmPsException(
                VmPsErrorIds.ToolNotFound,
                VmPsErrorKind.NotInstalled,
                $"Cannot run '{executable}': {ex.Message}.",
                executable,
                ex);
        }

        using (process)
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            if (timeout is { } limit)
            {
                deadline.CancelAfter(limit);
            }

            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
                var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
                if (standardInput is not null)
                {
                    await process.StandardInput.WriteAsync(standardInput.AsMemory(), deadline.Token).ConfigureAwait(false);
                    process.StandardInput.Close();
                }

                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                return new ToolResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                throw new VmPsException(
                    VmPsErrorIds.ExternalToolTimedOut,
                    VmPsErrorKind.OperationTimeout,
                    $"{executable} did not finish within {timeout!.Value.TotalSeconds:0.###} s and was killed.",
                    executable);
            }
        }
    }

    /// <summary>Runs the tool and throws a <see cref="VmPsException"/> carrying its stderr when it fails.</summary>
    public static async Task<ToolResult> RunCheckedAsync(
        string executable,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        string? standardInput = null)
    {
        var argumentList = arguments as IReadOnlyCollection<string> ?? arguments.ToArray();
        var result = await RunAsync(executable, argumentList, cancellationToken, standardInput).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var message = new StringBuilder()
                .Append(executable).Append(' ').Append(string.Join(' ', argumentList))
                .Append(" failed with exit code ").Append(result.ExitCode);
            var detail = (result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput).Trim();
            if (detail.Length > 0)
            {
                message.Append(": ").Append(detail);
            }

            throw new VmPsException(VmPsErrorIds.ExternalToolFailed, VmPsErrorKind.InvalidOperation, message.ToString(), executable);
        }

        return result;
    }
}
