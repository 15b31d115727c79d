using VmPs.Core;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Processes;

public sealed class DetachedProcessTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    [Fact]
    public async Task ProcessRunsInItsOwnSessionWithOutputInTheLogAndIsReapedWhenItExits()
    {
        var log = scratch.Combine("out.log");
        var process = DetachedProcess.Start("sh", ["-c", "echo out; echo err >&2; cat /proc/self/stat; pwd"], log, scratch.Path);

        Assert.True(await ProcessProbe.WaitForExitAsync(process, TimeSpan.FromSeconds(30), CancellationToken.None));
        // Reaped, not a zombie: its /proc entry is gone.
        await WaitUntilAsync(() => !Directory.Exists($"/proc/{process.Pid}"));

        var lines = await File.ReadAllLinesAsync(log);
        Assert.Equal("out", lines[0]);
        Assert.Equal("err", lines[1]);
        var stat = lines[2][(lines[2].LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(process.Pid.ToString(), stat[3]); // session id (field 6) is its own pid: setsid
        Assert.Equal(scratch.Path, lines[3]);
    }

    [Fact]
    public void MissingExecutableIsReportedAsNotInstalled()
    {
        var error = Assert.Throws<VmPsException>(() => DetachedProcess.Start("vmps-no-such-program", [], scratch.Combine("log"), scratch.Path));

        Assert.Equal("ExecutableNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
    }

    [Fact]
    public async Task KilledProcessIsGoneAndNotRunning()
    {
        var process = DetachedProcess.Start("sleep", ["300"], scratch.Combine("log"), scratch.Path);
        Assert.True(ProcessProbe.IsRunning(process));

        await ProcessProbe.KillAsync(process, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.False(ProcessProbe.IsRunning(process));
        await WaitUntilAsync(() => !Directory.Exists($"/proc/{process.Pid}"));
    }

    [Fact]
    public async Task OnlyASessionLeaderWorkingInTheDirectoryWithAnArgumentNamingItIsRecognisedAsStartedForIt()
    {
        var file = scratch.Combine("console.log");
        File.WriteAllText(file, "");
        var elsewhere = Directory.CreateTempSubdirectory("vmps-elsewhere-");
        var started = DetachedProcess.Start("tail", ["-f", file], scratch.Combine("log"), scratch.Path);
        var detachedElsewhere = DetachedProcess.Start("tail", ["-f", file], scratch.Combine("log"), elsewhere.FullName);
        // A user's own reader of the VM's log, run from a shell in the VM's directory: not a session leader.
        using var reader = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("tail", ["-f", file]) { WorkingDirectory = scratch.Path })!;
        var readerIdentity = new ProcessIdentity(reader.Id, ProcessProbe.ReadStartTime(reader.Id)!.Value);
        try
        {
            Assert.True(ProcessProbe.IsDetachedFor(started, scratch.Path));
            Assert.True(ProcessProbe.IsDetachedFor(started, scratch.Path + "/"));
            Assert.False(ProcessProbe.IsDetachedFor(detachedElsewhere, scratch.Path));
            Assert.False(ProcessProbe.IsDetachedFor(readerIdentity, scratch.Path));
            Assert.False(ProcessProbe.IsDetachedFor(started with { StartTime = started.StartTime + 1 }, scratch.Path));
            Assert.Equal([started], ProcessProbe.FindDetachedFor(scratch.Path));
        }
        finally
        {
            reader.Kill();
            await ProcessProbe.KillAsync(started, TimeSpan.FromSeconds(10), CancellationToken.None);
            await ProcessProbe.KillAsync(detachedElsewhere, TimeSpan.FromSeconds(10), CancellationToken.None);
            elsewhere.Delete(recursive: true);
        }

        Assert.Empty(ProcessProbe.FindDetachedFor(scratch.Path));
    }

    public void Dispose() => scratch.Dispose();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 1000 && !condition(); attempt++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
