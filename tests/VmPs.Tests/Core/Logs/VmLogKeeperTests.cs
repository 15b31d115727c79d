using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Protocol.Logs;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Logs;

/// <summary>The real keeper process (vmps-guest keep-logs) behind a stand-in hypervisor: a shell that floods the pipes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmLogKeeperTests : IDisposable
{
    private const int FloodBytes = 12 * 1024 * 1024;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    private readonly ScratchDirectory scratch = new();
    private readonly VmLaunchSpec spec;

    public VmLogKeeperTests()
    {
        spec = new VmLaunchSpec
        {
            VmName = "flood",
            VmDirectory = scratch.Path,
            KernelPath = "/nonexistent",
            InitrdPath = "/nonexistent",
            KernelArguments = "",
            Cpus = 1,
            MemoryMiB = 64,
            Disks = [],
            ConsoleLogPath = scratch.Combine("console.log"),
            AppLogPath = scratch.Combine("app.log"),
            HypervisorLogPath = scratch.Combine("hypervisor.log"),
            VsockCid = 3,
        };
    }

    [Fact]
    public async Task AFloodOfEachLogStaysWithinTheCapAndTheKeeperEndsWithItsHypervisor()
    {
        spec.CreatePrivateFiles();
        // 12 MiB into each log (its own output, the console and the app console), then a last line each, then it idles.
        var flood = string.Join("; ", new[] { "", " > console.out", " > app.out" }.Select(target =>
            $"yes 0123456789abcdef | head -c {FloodBytes}{target}; echo END{target}"));
        var hypervisor = VmLogKeeper.Launch(spec, output => DetachedProcess.Start("sh", ["-c", flood + "; exec sleep 600"], output, scratch.Path, spec.PidFilePath));
        var keeper = Keeper();

        var largest = 0L;
        var started = DateTime.UtcNow;
        while (!spec.LogPaths.All(EndsWithTheLastLine))
        {
            Assert.True(DateTime.UtcNow - started < Deadline, $"the logs did not end with END within {Deadline}");
            largest = Math.Max(largest, spec.LogPaths.Max(OnDisk));
            await Task.Delay(50);
        }

        foreach (var log in spec.LogPaths)
        {
            Assert.InRange(new FileInfo(log).Length, 1, VmLogKeeper.MaxFileBytes);
            Assert.Equal(VmLogKeeper.MaxFileBytes, new FileInfo(RotatingLogFile.RotatedPath(log)).Length);
            Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(log));
            Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(RotatingLogFile.RotatedPath(log)));
        }

        Assert.InRange(largest, 0, 2 * VmLogKeeper.MaxFileBytes);
        Assert.True(ProcessProbe.IsRunning(keeper));

        await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(await ProcessProbe.WaitForExitAsync(keeper, TimeSpan.FromSeconds(10), CancellationToken.None), "the keeper outlived its hypervisor");
        VmLogKeeper.End(scratch.Path);
        Assert.Empty(Directory.EnumerateFiles(scratch.Path, "*.out"));
        Assert.False(File.Exists(Path.Combine(scratch.Path, VmLogKeeper.PidFileName)));
        Assert.Empty(ProcessProbe.FindDetachedFor(scratch.Path));
    }

    [Fact]
    public void AKeeperWhoseHypervisorFailsToStartIsEndedWithItsPipes()
    {
        spec.CreatePrivateFiles();
        ProcessIdentity? keeper = null;

        Assert.Throws<VmPsException>(() => VmLogKeeper.Launch(spec, _ =>
        {
            keeper = Keeper();
            return DetachedProcess.Start("/nonexistent/hypervisor", [], "/dev/null", scratch.Path);
        }));

        Assert.False(ProcessProbe.IsRunning(keeper!.Value));
        Assert.Empty(Directory.EnumerateFiles(scratch.Path, "*.out"));
        Assert.False(File.Exists(Path.Combine(scratch.Path, VmLogKeeper.PidFileName)));
        Assert.Empty(ProcessProbe.FindDetachedFor(scratch.Path));
    }

    [Fact]
    public async Task AKeeperAKilledStartLeftIsEndedByTheNextStart()
    {
        spec.CreatePrivateFiles();
        // A start killed after its keeper started and before the keeper was recorded: nothing names that keeper, and
        // it waits for a hypervisor to be recorded.
        VmLogKeeper.Start(spec);
        var left = Keeper();
        File.Delete(Path.Combine(scratch.Path, VmLogKeeper.PidFileName));

        var hypervisor = VmLogKeeper.Launch(spec, output => DetachedProcess.Start("sh", ["-c", "exec sleep 600"], output, scratch.Path, spec.PidFilePath));
        try
        {
            Assert.True(await ProcessProbe.WaitForExitAsync(left, TimeSpan.FromSeconds(5), CancellationToken.None), "the next start left the previous keeper running");
            var keeper = Keeper();
            Assert.Equal([keeper], ProcessProbe.FindDetachedFor(scratch.Path));
            await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.True(await ProcessProbe.WaitForExitAsync(keeper, TimeSpan.FromSeconds(10), CancellationToken.None), "the keeper outlived its hypervisor");
        }
        finally
        {
            await ProcessProbe.KillAsync(hypervisor, TimeSpan.FromSeconds(5), CancellationToken.None);
        }
    }

    public void Dispose()
    {
        foreach (var process in ProcessProbe.FindDetachedFor(scratch.Path))
        {
            ProcessProbe.KillAsync(process, TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }

        scratch.Dispose();
    }

    private ProcessIdentity Keeper() =>
        PidFile.Read(Path.Combine(scratch.Path, VmLogKeeper.PidFileName)) ?? throw new InvalidOperationException("no keeper pid file");

    private static bool EndsWithTheLastLine(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length < 4)
        {
            return false;
        }

        file.Seek(-4, SeekOrigin.End);
        var end = new byte[4];
        file.ReadExactly(end);
        return end.AsSpan().SequenceEqual("END\n"u8);
    }

    private static long OnDisk(string log) =>
        new[] { log, RotatingLogFile.RotatedPath(log) }.Select(path => new FileInfo(path)).Sum(file => file.Exists ? file.Length : 0);
}
