using System.Text;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Logs;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
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
            "event": "panic"
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
        Assert.Equal("panic", events[1].Properties["event"]);
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
    [InlineData(new[] { "vm/booted", "vm/shutdown", "vm/deleted", "vmm/shutdown" }, 4, CloudHypervisorExit.GuestPowerOff)]
    [InlineData(new[] { "vm/booted", "vm/shutdown", "vm/deleted", "vmm/shutdown" }, 1, CloudHypervisorExit.Stopped)]
    [InlineData(new[] { "vm/booted", "guest/panic", "vm/shutdown", "vm/deleted", "vmm/shutdown" }, 2, CloudHypervisorExit.GuestPanic)]
    [InlineData(new[] { "vm/booted", "guest/panic", "vm/rebooting", "vm/rebooted", "vm/shutdown", "vm/deleted", "vmm/shutdown" }, 7, CloudHypervisorExit.GuestPowerOff)]
    [InlineData(new[] { "vm/booted", "vm/rebooting", "vm/rebooted" }, 3, CloudHypervisorExit.Unexpected)]
    [InlineData(new[] { "vmm/starting", "vm/booting", "vm/booted" }, 3, CloudHypervisorExit.Unexpected)]
    [InlineData(new string[0], 0, CloudHypervisorExit.Unexpected)]
    public void ExitIsJudgedFromTheEventsOfTheLastBoot(string[] events, int requestedAt, CloudHypervisorExit expected)
    {
        var parsed = events.Select(e => e.Split('/')).Select(p => new CloudHypervisorEvent(TimeSpan.Zero, p[0], p[1], new Dictionary<string, string>())).ToList();

        Assert.Equal(expected, CloudHypervisorEventMonitor.ClassifyExit(parsed, requestedAt));
    }

    [Fact]
    public void A_guest_power_off_is_read_from_the_event_monitor_file_as_one()
    {
        File.WriteAllText(vm.PathOf("events.json"), Booting + Record("vm", "booted") + Record("vm", "shutdown") + Record("vm", "deleted") + Record("vmm", "shutdown"));

        Assert.Equal(new HypervisorExit(true, "Cloud Hypervisor recorded that the guest powered off."), CloudHypervisorEventMonitor.ReadExit(vm.Directory));
    }

    [Fact]
    public void The_same_events_after_a_stop_request_are_vmps_stopping_the_vmm()
    {
        var path = vm.PathOf("events.json");
        var files = CloudHypervisorVmFiles.In(vm.Directory);
        File.WriteAllText(path, Booting + Record("vm", "booted"));
        CloudHypervisorEventMonitor.RecordStopRequest(files);
        File.AppendAllText(path, Record("vm", "shutdown") + Record("vm", "deleted") + Record("vmm", "shutdown"));
        // A second request (a kill after a failed one) keeps the first's place.
        CloudHypervisorEventMonitor.RecordStopRequest(files);

        Assert.Equal(new HypervisorExit(false, "Cloud Hypervisor shut down as VmPs asked."), CloudHypervisorEventMonitor.ReadExit(vm.Directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.StopRequest));
    }

    [Fact]
    public void A_guest_that_powered_off_before_vmps_asked_still_powered_off()
    {
        var path = vm.PathOf("events.json");
        File.WriteAllText(path, Booting + Record("vm", "booted") + Record("vm", "shutdown") + Record("vm", "deleted") + Record("vmm", "shutdown"));
        CloudHypervisorEventMonitor.RecordStopRequest(CloudHypervisorVmFiles.In(vm.Directory));

        Assert.True(CloudHypervisorEventMonitor.ReadExit(vm.Directory).GuestPoweredOff);
    }

    [Fact]
    public void A_panic_of_the_last_boot_and_a_kill_are_no_power_off()
    {
        var path = vm.PathOf("events.json");
        File.WriteAllText(path, Booting + Record("vm", "booted") + Panic);
        Assert.Equal(new HypervisorExit(false, "Cloud Hypervisor recorded a guest kernel panic."), CloudHypervisorEventMonitor.ReadExit(vm.Directory));

        File.AppendAllText(path, Record("vm", "rebooting") + Record("vm", "rebooted"));
        Assert.Equal(HypervisorExit.Unrecorded, CloudHypervisorEventMonitor.ReadExit(vm.Directory));
        Assert.Equal(HypervisorExit.Unrecorded, CloudHypervisorEventMonitor.ReadExit(vm.PathOf("never-ran")));
    }

    [Fact]
    public void Only_the_end_of_an_endless_event_monitor_file_is_read()
    {
        // A guest that resets over and over makes CH write without end; the power-off at the end is still found.
        var path = vm.PathOf("events.json");
        var reboots = string.Concat(Enumerable.Repeat(Record("vm", "rebooting") + Record("vm", "rebooted"), 2000));
        File.WriteAllText(path, Booting + Record("vm", "booted") + reboots + Record("vm", "shutdown") + Record("vm", "deleted") + Record("vmm", "shutdown"));
        Assert.True(new FileInfo(path).Length > 4 * LogTail.MaxBytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var exit = CloudHypervisorEventMonitor.ReadExit(vm.Directory);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(exit.GuestPoweredOff);
        Assert.True(allocated < 16 * LogTail.MaxBytes, $"Reading the events allocated {allocated} bytes.");
    }

    /// <summary>One record as CH's event monitor writes it (serde_json pretty printing, a blank line after).</summary>
    private static string Record(string source, string name) => $$"""
        {
          "timestamp": {
            "secs": 1,
            "nanos": 0
          },
          "source": "{{source}}",
          "event": "{{name}}",
          "properties": null
        }


        """;
}
