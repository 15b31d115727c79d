using VmPs.Core.Hypervisors;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Protocol.Logs;
using VmPs.Tests.Core.State;
using Xunit.Abstractions;

namespace VmPs.Tests.Integration;

/// <summary>
/// A guest floods its serial console and its app console while no VmPs command runs: the log files on the host stay
/// within the keeper's cap all along, Get-VmLog reads the end across the rotation, and the keeper goes with the VM.
/// A VM of its own: the flood rotates away the boot log other tests of the shared VM read.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class LogFloodVmTests : IDisposable
{
    private const string VmName = "flood";
    private const string AppLine = "0123456789abcdef";
    private const int AppLines = 64 * 1024;
    private const string ConsoleLine = "console-flood-line";
    private const int ConsoleLines = 16 * 1024;
    private const string FloodEnd = "FLOOD-END";
    private const int EndSearchLines = 8;
    // Small, so that a TCG guest writes many times the cap within the test's time; the keeper tests flood the default.
    private const long Cap = 64 * 1024;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    private readonly TemporaryVmPsHome home = new();
    private readonly ITestOutputHelper output;

    public LogFloodVmTests(ITestOutputHelper output)
    {
        this.output = output;
    }

    [RequiresVmBootFact]
    public async Task AGuestFloodingItsConsolesNeverTakesMoreThanTheCapOnTheHost()
    {
        var manager = new VmManager(home.Paths, new VmManagerSettings { LogFileMaxBytes = Cap });
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = VmName, Image = "busybox", Cpus = 1, MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu },
            CancellationToken.None);
        await manager.StartAsync(VmName, new VmStartOptions(), progress: null, CancellationToken.None);
        var logs = new[] { Path.Combine(created.Directory, "app.log"), Path.Combine(created.Directory, "console.log") };

        // Detached in the guest: the exec returns at once, and the flood goes on with no VmPs command running.
        var flood = $"yes {AppLine} | head -n {AppLines} > /dev/hvc0; echo {FloodEnd} > /dev/hvc0; "
            + $"yes {ConsoleLine} | head -n {ConsoleLines} > /dev/ttyS0; echo {FloodEnd} > /dev/ttyS0";
        await manager.ExecAsync(VmName, new VmExecOptions { Command = ["setsid", "sh", "-c", $"({flood}) </dev/null >/dev/null 2>&1 &"] }, CancellationToken.None);

        var largest = logs.ToDictionary(log => log, _ => 0L);
        var started = DateTime.UtcNow;
        while (!(await FloodEndedAsync(manager, VmLogSource.App) && await FloodEndedAsync(manager, VmLogSource.Console)))
        {
            if (DateTime.UtcNow - started >= Deadline)
            {
                Assert.Fail(
                    $"the flood did not end within {Deadline}: {string.Join(", ", logs.Select(log => $"{log} {OnDisk(log)} bytes"))}; "
                    + $"the last lines of the app log: {await LastLinesAsync(manager, VmLogSource.App)}, of the console log: {await LastLinesAsync(manager, VmLogSource.Console)}; "
                    + $"the keeper {(KeeperRuns(created.Directory) ? "runs" : "does not run")}, its own log: {KeeperLog(created.Directory)}; "
                    + $"the guest's serial port: {await GuestSerialAsync(manager)}");
            }

            foreach (var log in logs)
            {
                largest[log] = Math.Max(largest[log], OnDisk(log));
            }

            await Task.Delay(100);
        }

        var elapsed = DateTime.UtcNow - started;
        foreach (var log in logs)
        {
            output.WriteLine($"{Path.GetFileName(log)}: on disk at most {largest[log]} bytes while the guest wrote; now {new FileInfo(log).Length} + {new FileInfo(RotatingLogFile.RotatedPath(log)).Length} (rotated) bytes");
            Assert.InRange(largest[log], 0, 2 * Cap);
            Assert.InRange(new FileInfo(log).Length, 1, Cap);
            Assert.Equal(Cap, new FileInfo(RotatingLogFile.RotatedPath(log)).Length);
        }

        output.WriteLine($"guest wrote {AppLines * (AppLine.Length + 1)} bytes to its app console and {ConsoleLines * (ConsoleLine.Length + 1)} to its serial console (before any CR the tty adds) in {elapsed.TotalSeconds:0} s");

        Assert.Equal([AppLine, FloodEnd], await TailAsync(manager, VmLogSource.App, 2));

        await manager.StopAsync(VmName, new VmStopOptions(), CancellationToken.None);
        Assert.Empty(ProcessProbe.FindDetachedFor(created.Directory));
        Assert.Empty(Directory.EnumerateFiles(created.Directory, "*.out"));
        await manager.RemoveAsync(VmName, force: true, CancellationToken.None);
    }

    public void Dispose()
    {
        // A flood that failed leaves its VM running: no hypervisor outlives the test.
        new VmManager(home.Paths).RemoveAllVms();
        home.Dispose();
    }

    private static bool KeeperRuns(string directory) =>
        PidFile.Read(Path.Combine(directory, VmLogKeeper.PidFileName)) is { } keeper && ProcessProbe.IsRunning(keeper);

    /// <summary>The guest's 8250 counters (tx, rx, flow control): whether the serial flood stalled in the guest or on the host.</summary>
    private static async Task<string> GuestSerialAsync(VmManager manager)
    {
        try
        {
            var result = await manager.ExecAsync(
                VmName, new VmExecOptions { Command = ["sh", "-c", "cat /proc/tty/driver/serial; stty -F /dev/ttyS0 -a"], Timeout = TimeSpan.FromSeconds(30) }, CancellationToken.None);
            return $"'{result.Stdout.Trim()}'";
        }
        catch (Exception error) when (error is VmPs.Core.VmPsException or TimeoutException or OperationCanceledException)
        {
            return $"not read: {error.Message}";
        }
    }

    private static string KeeperLog(string directory)
    {
        var path = Path.Combine(directory, VmLogKeeper.OwnLogName);
        return File.Exists(path) ? $"'{File.ReadAllText(path).Trim()}'" : "none";
    }

    /// <summary>
    /// The end marker is among the log's last lines (across a rotation): the guest's kernel may print after it, for
    /// example about a clock stall when the host is busy, so it need not be the very last line.
    /// </summary>
    private static async Task<bool> FloodEndedAsync(VmManager manager, VmLogSource source) =>
        (await TailAsync(manager, source, EndSearchLines)).Contains(FloodEnd);

    private static async Task<string> LastLinesAsync(VmManager manager, VmLogSource source) =>
        $"'{string.Join("|", await TailAsync(manager, source, EndSearchLines))}'";

    private static async Task<List<string>> TailAsync(VmManager manager, VmLogSource source, int lines)
    {
        var tail = new List<string>();
        await foreach (var line in manager.GetLogAsync(VmName, source, new VmLogOptions { Tail = lines }, CancellationToken.None))
        {
            tail.Add(line);
        }

        return tail;
    }

    private static long OnDisk(string log) =>
        new[] { log, RotatingLogFile.RotatedPath(log) }.Select(path => new FileInfo(path)).Sum(file => file.Exists ? file.Length : 0);
}
