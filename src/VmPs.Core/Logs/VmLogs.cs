using System.Runtime.CompilerServices;
using VmPs.Core.Storage;
using VmPs.Protocol.Logs;

namespace VmPs.Core.Logs;

/// <summary>Reads a VM's logs from its directory: the present content, then (when following) what the running VM adds.</summary>
internal static class VmLogs
{
    /// <summary>
    /// The log's lines; for <see cref="VmLogSource.Init"/>, the JSON of each init record. Following ends when
    /// <paramref name="isRunning"/> says the VM stopped (after its last lines) or when cancelled.
    /// </summary>
    public static IAsyncEnumerable<string> LinesAsync(
        VmFiles files,
        VmLogSource source,
        VmLogOptions options,
        Func<CancellationToken, Task<bool>> isRunning,
        CancellationToken cancellationToken)
    {
        var lines = ReadAsync(PathOf(files, source), options, isRunning, source == VmLogSource.Init ? IsInitRecord : null, cancellationToken);
        return source == VmLogSource.Init ? StripInitMarkers(lines, cancellationToken)
            : options.Raw ? lines
            : Sanitize(lines, cancellationToken);
    }

    public static async IAsyncEnumerable<InitLogRecord> InitRecordsAsync(
        VmFiles files,
        VmLogOptions options,
        Func<CancellationToken, Task<bool>> isRunning,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in ReadAsync(files.ConsoleLog, options, isRunning, IsInitRecord, cancellationToken).ConfigureAwait(false))
        {
            if (InitLogRecord.TryParse(line, out var record))
            {
                yield return record;
            }
        }
    }

    public static void Validate(VmLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Tail is < 0)
        {
            throw new VmPsException(VmPsErrorIds.InvalidLogTail, VmPsErrorKind.InvalidArgument, $"Tail must be 0 or more; got {options.Tail}.", options.Tail);
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            throw new VmPsException(VmPsErrorIds.InvalidLogPollInterval, VmPsErrorKind.InvalidArgument, $"The poll interval must be positive; got {options.PollInterval}.", options.PollInterval);
        }
    }

    private static string PathOf(VmFiles files, VmLogSource source) => source switch
    {
        VmLogSource.Console or VmLogSource.Init => files.ConsoleLog,
        VmLogSource.App => files.AppLog,
        VmLogSource.Hypervisor => files.HypervisorLog,
        _ => throw new VmPsException(VmPsErrorIds.InvalidLogSource, VmPsErrorKind.InvalidArgument, $"Unknown log source {source}.", source),
    };

    private static bool IsInitRecord(string line) => InitLogRecord.TryParse(line, out _);

    private static async IAsyncEnumerable<string> ReadAsync(
        string path,
        VmLogOptions options,
        Func<CancellationToken, Task<bool>> isRunning,
        Func<string, bool>? include,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new LogFileReader(path);
        // Whether the VM runs is checked before each read: once it has stopped, that read gets its last bytes.
        var running = options.Follow && await isRunning(cancellationToken).ConfigureAwait(false);
        if (options.Tail is { } tail)
        {
            await reader.SkipToLastLinesAsync(tail, !running, include, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            await foreach (var line in reader.ReadNewLinesAsync(!running, cancellationToken).ConfigureAwait(false))
            {
                if (include is null || include(line))
                {
                    yield return line;
                }
            }

            if (!running)
            {
                yield break;
            }

            await Task.Delay(options.PollInterval, cancellationToken).ConfigureAwait(false);
            running = await isRunning(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<string> Sanitize(IAsyncEnumerable<string> lines, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return TerminalText.Sanitize(line);
        }
    }

    private static async IAsyncEnumerable<string> StripInitMarkers(IAsyncEnumerable<string> lines, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return line[(line.IndexOf(InitLogRecord.Marker, StringComparison.Ordinal) + InitLogRecord.Marker.Length)..];
        }
    }
}
