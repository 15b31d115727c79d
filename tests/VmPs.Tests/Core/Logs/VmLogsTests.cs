using VmPs.Core;
using VmPs.Core.Logs;
using VmPs.Core.Storage;
using VmPs.Protocol.Logs;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Logs;

public sealed class VmLogsTests : IDisposable
{
    private static readonly VmLogOptions Follow = new() { Follow = true, PollInterval = TimeSpan.FromMilliseconds(1) };

    private readonly ScratchDirectory scratch = new();
    private readonly VmFiles files;

    public VmLogsTests()
    {
        files = new VmFiles(scratch.Path);
    }

    [Fact]
    public async Task TailReturnsTheLastLinesAndAStoppedVmsUnterminatedLastLine()
    {
        File.WriteAllText(files.AppLog, "one\r\ntwo\nthree\nfour");

        var lines = await Read(VmLogSource.App, new VmLogOptions { Tail = 2 }, Running(false));

        Assert.Equal(["three", "four"], lines);
    }

    [Fact]
    public async Task AMissingLogIsEmpty()
    {
        Assert.Empty(await Read(VmLogSource.Hypervisor, new VmLogOptions(), Running(false)));
    }

    [Fact]
    public async Task FollowingReturnsWhatTheRunningVmAddsWholeLinesOnlyUntilItStops()
    {
        File.WriteAllText(files.ConsoleLog, "a\nb\npart");
        var writes = new Queue<(string Text, bool Running)>([("", true), ("ial\nc\n", true), ("", true), ("d", false)]);

        var lines = await Read(VmLogSource.Console, Follow with { Tail = 1 }, _ =>
        {
            var (text, running) = writes.Dequeue();
            File.AppendAllText(files.ConsoleLog, text);
            return Task.FromResult(running);
        });

        Assert.Equal(["b", "partial", "c", "d"], lines);
        Assert.Empty(writes);
    }

    [Fact]
    public async Task FollowingStartsOverWhenTheVmBootsAgainWithAFreshLog()
    {
        File.WriteAllText(files.ConsoleLog, "first boot, a long line\n");
        var writes = new Queue<(Action Write, bool Running)>([(() => { }, true), (() => File.WriteAllText(files.ConsoleLog, "second\n"), false)]);

        var lines = await Read(VmLogSource.Console, Follow, _ =>
        {
            var (write, running) = writes.Dequeue();
            write();
            return Task.FromResult(running);
        });

        Assert.Equal(["first boot, a long line", "second"], lines);
    }

    [Fact]
    public async Task AReadFromTheStartCoversTheRotatedFileThenTheCurrentOne()
    {
        var written = WriteRotated(files.AppLog, Enumerable.Range(1, 60).Select(i => $"line {i}"), cap: 100);

        var lines = await Read(VmLogSource.App, new VmLogOptions(), Running(false));

        var kept = written[^(int)(new FileInfo(RotatingLogFile.RotatedPath(files.AppLog)).Length + new FileInfo(files.AppLog).Length)..];
        Assert.Equal(kept.TrimEnd('\n').Split('\n'), lines);
        Assert.Equal("line 60", lines[^1]);
    }

    [Fact]
    public async Task ATailLongerThanTheCurrentFileReachesIntoTheRotatedOne()
    {
        var all = Enumerable.Range(1, 60).Select(i => $"line {i}").ToList();
        WriteRotated(files.AppLog, all, cap: 100);

        var lines = await Read(VmLogSource.App, new VmLogOptions { Tail = 15 }, Running(false));

        Assert.Equal(all[^15..], lines);
    }

    [Fact]
    public async Task AFollowerReadsARotatedFileToItsEndBeforeTheNewOne()
    {
        using var log = new RotatingLogFile(files.ConsoleLog, 64);
        var next = 0;
        var expected = new List<string>();

        var lines = await Read(VmLogSource.Console, Follow, _ =>
        {
            // Less than a file's cap between two reads: nothing is rotated away unread.
            for (var line = 0; line < 4; line++)
            {
                var text = $"n{++next:D3}";
                expected.Add(text);
                log.Write(System.Text.Encoding.ASCII.GetBytes(text + "\n"));
            }

            return Task.FromResult(next < 200);
        });

        Assert.Equal(expected, lines);
        Assert.True(File.Exists(RotatingLogFile.RotatedPath(files.ConsoleLog)));
    }

    [Fact]
    public async Task TheInitSourceKeepsOnlyInitRecordsAndTailCountsRecords()
    {
        var records = Enumerable.Range(1, 3)
            .Select(step => new InitLogRecord(DateTimeOffset.UnixEpoch.AddSeconds(step), InitLogLevels.Info, InitLogPhases.Modules, $"step {step}"))
            .ToList();
        File.WriteAllLines(files.ConsoleLog, ["[vmps] boot version=1", records[0].ToConsoleLine(), "[    0.5] kernel text", records[1].ToConsoleLine(), records[2].ToConsoleLine(), "[vmps] agent-ready"]);

        var parsed = new List<InitLogRecord>();
        await foreach (var record in VmLogs.InitRecordsAsync(files, new VmLogOptions { Tail = 2 }, Running(false), CancellationToken.None))
        {
            parsed.Add(record);
        }

        var lines = await Read(VmLogSource.Init, new VmLogOptions(), Running(false));

        Assert.Equal(records[1..], parsed);
        Assert.Equal(records.Select(record => record.ToConsoleLine()[InitLogRecord.Marker.Length..]), lines);
    }

    [Fact]
    public async Task FollowingEndsWhenCancelled()
    {
        File.WriteAllText(files.AppLog, "line\n");
        using var cancellation = new CancellationTokenSource();
        var lines = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var line in VmLogs.LinesAsync(files, VmLogSource.App, Follow, Running(true), cancellation.Token))
            {
                lines.Add(line);
                cancellation.Cancel();
            }
        });
        Assert.Equal(["line"], lines);
    }

    [Fact]
    public async Task TailReadsOnlyTheEndOfALogLargerThanMemoryCouldHold()
    {
        // 3 GiB of zeros without a newline (sparse: no disk), then two lines: more than one buffer can ever hold.
        using (var log = new FileStream(files.ConsoleLog, FileMode.Create))
        {
            log.SetLength(3L << 30);
            log.Seek(0, SeekOrigin.End);
            log.Write("\nsecond to last\nlast\n"u8);
        }

        var lines = await Read(VmLogSource.Console, new VmLogOptions { Tail = 2 }, Running(false));

        Assert.Equal(["second to last", "last"], lines);
    }

    [Fact]
    public async Task AnEndlessLineComesInPiecesOfTheLongestLineKeptWhole()
    {
        File.WriteAllBytes(files.AppLog, [.. Enumerable.Repeat((byte)'x', (5 * LogFileReader.MaxLineBytes) + 3), (byte)'\n', (byte)'y']);

        var lines = await Read(VmLogSource.App, new VmLogOptions(), Running(false));

        Assert.Equal([.. Enumerable.Repeat(LogFileReader.MaxLineBytes, 5), 3, 1], lines.Select(line => line.Length));
    }

    [Fact]
    public async Task BinaryAndMalformedRecordsFromTheGuestAreReadWithoutFailing()
    {
        var record = new InitLogRecord(DateTimeOffset.UnixEpoch, InitLogLevels.Info, InitLogPhases.Agent, "real");
        File.WriteAllBytes(files.ConsoleLog, [
            .. "[vmps] log {\"time\": \"not a time\"\n"u8,
            .. "[vmps] log "u8, .. Enumerable.Repeat((byte)'{', 2 * LogFileReader.MaxLineBytes), (byte)'\n',
            0xFF, 0xFE, 0x00, 0xC3, (byte)'\n',
            .. System.Text.Encoding.UTF8.GetBytes(record.ToConsoleLine() + "\n"),
        ]);

        var records = new List<InitLogRecord>();
        await foreach (var parsed in VmLogs.InitRecordsAsync(files, new VmLogOptions { Tail = 5 }, Running(false), CancellationToken.None))
        {
            records.Add(parsed);
        }

        var console = await Read(VmLogSource.Console, new VmLogOptions { Raw = true }, Running(false));

        Assert.Equal([record], records);
        // The 2 MiB line comes in three pieces.
        Assert.Equal(6, console.Count);
        Assert.Equal("\uFFFD\uFFFD\0\uFFFD", console[4]);
    }

    [Fact]
    public async Task TerminalControlsFromTheGuestAreRemovedUnlessRaw()
    {
        const string hostile = "a\u001b[2J\u001b[1;1Hb\u001b]0;owned title\u0007c\u001bP+q\u001b\\d\u001b7e\u001b(Bf\u0008\u0000\u009b31mg\th\rü\u001b[6n\u007f";
        File.WriteAllText(files.AppLog, hostile + "\nplain\n");

        Assert.Equal(["abcdef31mg\thü", "plain"], await Read(VmLogSource.App, new VmLogOptions(), Running(false)));
        Assert.Equal(["abcdef31mg\thü", "plain"], await Read(VmLogSource.App, new VmLogOptions { Tail = 2 }, Running(false)));
        Assert.Equal([hostile, "plain"], await Read(VmLogSource.App, new VmLogOptions { Raw = true }, Running(false)));
    }

    [Fact]
    public void TheCrashTailReadsOnlyTheLogsEndAndRemovesTerminalControls()
    {
        // 3 GiB of zeros (sparse) would take the old whole-file read to gigabytes of memory; then a bounded, clean tail.
        using (var log = new FileStream(files.ConsoleLog, FileMode.Create))
        {
            log.SetLength(3L << 30);
            log.Seek(0, SeekOrigin.End);
            log.Write(System.Text.Encoding.UTF8.GetBytes("\nkernel panic\u001b[31m!\n" + new string('x', 10_000) + "\n"));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var exit = VmPs.Core.Vms.GuestExit.Read(files, VmPs.Core.Hypervisors.HypervisorKind.Qemu);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal($"kernel panic!{Environment.NewLine}{new string('x', VmPs.Core.Vms.GuestExit.MaxTailLineChars)}", exit.Tail);
        Assert.True(allocated < 4 * VmPs.Core.Vms.GuestExit.MaxReadBytes * 4, $"Reading the tail allocated {allocated} bytes.");
    }

    [Fact]
    public void ANegativeTailIsRefused()
    {
        var error = Assert.Throws<VmPsException>(() => VmLogs.Validate(new VmLogOptions { Tail = -1 }));

        Assert.Equal(("InvalidLogTail", VmPsErrorKind.InvalidArgument), (error.ErrorId, error.Kind));
    }

    public void Dispose() => scratch.Dispose();

    /// <summary>Writes the lines through a rotating log of <paramref name="cap"/> bytes a file; returns all that was written.</summary>
    private static string WriteRotated(string path, IEnumerable<string> lines, int cap)
    {
        var written = new System.Text.StringBuilder();
        using var log = new RotatingLogFile(path, cap);
        foreach (var line in lines)
        {
            written.Append(line).Append('\n');
            log.Write(System.Text.Encoding.ASCII.GetBytes(line + "\n"));
        }

        return written.ToString();
    }

    private static Func<CancellationToken, Task<bool>> Running(bool running) => _ => Task.FromResult(running);

    private async Task<List<string>> Read(VmLogSource source, VmLogOptions options, Func<CancellationToken, Task<bool>> isRunning)
    {
        var lines = new List<string>();
        await foreach (var line in VmLogs.LinesAsync(files, source, options, isRunning, CancellationToken.None))
        {
            lines.Add(line);
        }

        return lines;
    }
}
