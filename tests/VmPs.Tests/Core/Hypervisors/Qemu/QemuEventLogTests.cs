using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Logs;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuEventLogTests
{
    private const string Greeting = """{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}""";

    [Theory]
    [InlineData("guest-shutdown", true)]
    [InlineData("guest-reset", false)]
    [InlineData("guest-panic", true)]
    [InlineData("host-signal", false)]
    [InlineData("host-qmp-quit", false)]
    public void The_last_SHUTDOWN_event_gives_the_reason(string reason, bool guest)
    {
        var log = string.Join('\n',
            Greeting,
            """{"return": {}}""",
            """{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RTC_CHANGE", "data": {"offset": 0, "qom-path": "/machine/unattached/device[8]"}}""",
            $$$"""{"timestamp": {"seconds": 3, "microseconds": 4}, "event": "SHUTDOWN", "data": {"guest": {{{(guest ? "true" : "false")}}}, "reason": "{{{reason}}}"}}""",
            "");

        Assert.Equal(reason, QemuEventLog.ShutdownReason(log));
    }

    [Fact]
    public void A_run_without_a_SHUTDOWN_event_a_cut_line_or_other_events_has_no_reason()
    {
        Assert.Null(QemuEventLog.ShutdownReason(""));
        Assert.Null(QemuEventLog.ShutdownReason(Greeting + "\n" + """{"return": {}}""" + "\n"));
        // A line the keeper's rotation or a killed QEMU cut short is no event; a string that merely names one is not either.
        Assert.Null(QemuEventLog.ShutdownReason("""{"timestamp": {"seconds": 3}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shut"""));
        Assert.Null(QemuEventLog.ShutdownReason("""{"timestamp": {"seconds": 3}, "event": "GUEST_PANICKED", "data": {"action": "SHUTDOWN", "reason": "guest-shutdown"}}"""));
    }

    [Fact]
    public void QEMU_gets_a_second_monitor_on_a_pipe_chardev_writing_the_keepers_pipe()
    {
        var spec = new VmLaunchSpec
        {
            VmName = "web",
            VmDirectory = "/vms/a",
            KernelPath = "/boot/vmlinuz",
            InitrdPath = "/cache/initrd.cpio",
            Cpus = 1,
            MemoryMiB = 256,
            Disks = [],
            ConsoleLogPath = "/vms/a/console.log",
            HypervisorLogPath = "/vms/a/qemu.log",
            EventLogPath = QemuEventLog.LogPath("/vms/a"),
            VsockCid = 7,
        };

        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, QemuSockets.For("/vms/a"), new QemuGuestMemory("/dev/shm/a.ram", Shared: true));

        var chardev = arguments.ToList().IndexOf("pipe,id=events,path=/vms/a/qmp-events");
        Assert.True(chardev > 0 && arguments[chardev - 1] == "-chardev", string.Join(' ', arguments));
        Assert.Equal(["-mon", "chardev=events,mode=control"], arguments.Skip(chardev + 1).Take(2));
        // QEMU writes BASE.out: the pipe the log keeper copies into the events log.
        Assert.Equal("/vms/a/qmp-events.out", VmLogKeeper.PipeOf(QemuEventLog.LogPath("/vms/a")));
        Assert.Contains("/vms/a/qmp-events.log", spec.LogPaths);
    }

    [Fact]
    public void A_start_empties_the_last_runs_events_and_writes_the_negotiation_privately()
    {
        var directory = Directory.CreateTempSubdirectory("vmps-qmpevents-");
        try
        {
            var log = QemuEventLog.LogPath(directory.FullName);
            File.WriteAllText(log, """{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}""" + "\n");
            File.WriteAllText(log + ".1", "old");

            QemuEventLog.Prepare(directory.FullName);

            Assert.Equal(0, new FileInfo(log).Length);
            Assert.False(File.Exists(log + ".1"));
            var input = Path.Combine(directory.FullName, "qmp-events.in");
            Assert.Equal("""{"execute":"qmp_capabilities"}""" + "\n", File.ReadAllText(input));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(input));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(log));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
