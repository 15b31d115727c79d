using System.Text;
using VmPs.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

public sealed class CloudHypervisorEventMonitorTests : IDisposable
{
    // Records as CH's event monitor writes them: serde_json pretty printing, then a blank line.
    private const string Booting = """
        {
          "timestamp": {
            "secs": 0,
            "nanos": 12345600
          },
          "source": "vm",
          "event": "booting",
          "properties": null
        }


        """;

    private const string Panic = """
        {
          "timestamp": {
            "secs": 3,
            "nanos": 500000000
          },
          "source": "guest",
          "event": "panic",
          "properties": {
            "event": "panicked"
          }
        }


        """;

    private readonly ChTestVm vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void CompleteRecordsAreParsedAndAPartialOneIsLeftForLater()
    {
        var partial = Panic[..40];
        var data = Encoding.UTF8.GetBytes(Booting + Panic + partial);

        var events = CloudHypervisorEventMonitor.Parse(data, out var consumed);

        Assert.Equal(2, events.Count);
        Assert.Equal((TimeSpan.FromTicks(123456), "vm", "booting"), (events[0].Timestamp, events[0].Source, events[0].Event));
        Assert.Empty(events[0].Properties);
        Assert.Equal(TimeSpan.FromSeconds(3.5), events[1].Timestamp);
        Assert.True(events[1].Is("guest", "panic"));
        Assert.Equal("panicked", events[1].Properties["event"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(Booting + Panic), consumed);
    }

    [Fact]
    public void MalformedRecordIsSkippedUpToTheNextBlankLine()
    {
        var data = Encoding.UTF8.GetBytes("{\n  \"source\": oops\n}\n\n" + Booting);

        var events = CloudHypervisorEventMonitor.Parse(data, out var consumed);

        Assert.Equal("booting", Assert.Single(events).Event);
        Assert.Equal(data.Length, consumed);
    }

    [Fact]
    public async Task FileBeingWrittenIsReadIncrementally()
    {
        var path = vm.PathOf("events.json");
        var monitor = new CloudHypervisorEventMonitor(path);
        Assert.Empty(await monitor.ReadNewAsync(CancellationToken.None));

        var split = Panic.Length / 2;
        await File.AppendAllTextAsync(path, Booting + Panic[..split]);
        var first = await monitor.ReadNewAsync(CancellationToken.None);
        await File.AppendAllTextAsync(path, Panic[split..]);
        var second = await monitor.ReadNewAsync(CancellationToken.None);

        Assert.Equal("booting", Assert.Single(first).Event);
        Assert.Equal("panic", Assert.Single(second).Event);
        Assert.Equal(["booting", "panic"], monitor.Events.Select(e => e.Event));
        Assert.Empty(await monitor.ReadNewAsync(CancellationToken.None));
    }

    [Fact]
    public async Task WaitForReturnsOnceTheEventIsWritten()
    {
        var path = vm.PathOf("events.json");
        var monitor = new CloudHypervisorEventMonitor(path);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var waiting = monitor.WaitForAsync("guest", "panic", timeout.Token);
        await File.AppendAllTextAsync(path, Booting + Panic);

        Assert.Equal(TimeSpan.FromSeconds(3.5), (await waiting).Timestamp);
    }

    [Theory]
    [InlineData(new[] { "vm/booted", "vm/shutdown", "vm/deleted", "vmm/shutdown" }, CloudHypervisorExit.Clean)]
    [InlineData(new[] { "vm/booted", "guest/panic", "vm/rebooting" }, CloudHypervisorExit.GuestPanic)]
    [InlineData(new[] { "vmm/starting", "vm/booting", "vm/booted" }, CloudHypervisorExit.Unexpected)]
    [InlineData(new string[0], CloudHypervisorExit.Unexpected)]
    public void ExitIsJudgedFromTheEvents(string[] events, CloudHypervisorExit expected)
    {
        var parsed = events.Select(e => e.Split('/')).Select(p => new CloudHypervisorEvent(TimeSpan.Zero, p[0], p[1], new Dictionary<string, string>()));

        Assert.Equal(expected, CloudHypervisorEventMonitor.ClassifyExit(parsed));
    }
}
