using VmPs.Protocol;
using VmPs.Protocol.Logs;

namespace VmPs.Tests.Protocol.Logs;

public sealed class InitLogRecordTests
{
    private static readonly DateTimeOffset Time = new(2026, 11, 22, 7, 30, 15, 123, TimeSpan.Zero);

    [Fact]
    public void ARecordIsOneConsoleLineOfJsonWithTheDocumentedFields()
    {
        var line = new InitLogRecord(Time, InitLogLevels.Error, InitLogPhases.Disks, "waiting for the disks", "no disk vmps-rootfs\nseen: vda").ToConsoleLine();

        Assert.DoesNotContain('\n', line);
        Assert.Equal(
            """[vmps] log {"time":"2026-11-22T07:30:15.123+00:00","level":"error","phase":"disks","msg":"waiting for the disks","error":"no disk vmps-rootfs\nseen: vda"}""",
            line);
    }

    [Fact]
    public void ARecordWithoutErrorLeavesTheFieldOut()
    {
        var line = new InitLogRecord(Time, InitLogLevels.Info, InitLogPhases.Boot, "started").ToConsoleLine();

        Assert.DoesNotContain("error", line);
    }

    [Fact]
    public void ParsingReadsTheRecordBackFromAConsoleLineWithKernelTextBeforeItAndACarriageReturn()
    {
        var record = new InitLogRecord(Time, InitLogLevels.Warning, InitLogPhases.Modules, "module crc32c did not load", "No such device (errno 19)");

        Assert.True(InitLogRecord.TryParse("[    1.234] random: crng init done" + record.ToConsoleLine() + "\r", out var parsed));
        Assert.Equal(record, parsed);
    }

    [Theory]
    [InlineData("[vmps] boot version=1.0.0 uptime=0.50")]
    [InlineData("[vmps] log {\"time\":\"2026-11-22T07:30:15+00:00\",\"level\":\"info\",\"phase\":\"bo")]
    [InlineData("[vmps] log not json")]
    [InlineData("[vmps] log {\"time\":\"2026-11-22T07:30:15+00:00\",\"msg\":\"no level or phase\"}")]
    [InlineData("")]
    public void LinesThatAreNotWholeRecordsAreNotParsed(string line)
    {
        Assert.False(InitLogRecord.TryParse(line, out _));
    }

    [Fact]
    public void RecordsBesideTheOtherMarkersKeepThePoweroffAndErrorParsingWorking()
    {
        var console = string.Join('\n',
            ConsoleMarkers.FormatBoot("1.0.0"),
            new InitLogRecord(Time, InitLogLevels.Info, InitLogPhases.Entrypoint, "the command exited with code 7").ToConsoleLine(),
            new InitLogRecord(Time, InitLogLevels.Error, InitLogPhases.Poweroff, "freezing failed", "reason=bogus exit-code=1").ToConsoleLine(),
            ConsoleMarkers.FormatPoweroff(PoweroffReasons.EntrypointExited, 7));

        Assert.True(ConsoleMarkers.TryParsePoweroff(console, out var reason, out var exitCode));
        Assert.Equal((PoweroffReasons.EntrypointExited, 7), (reason, exitCode));
        Assert.Null(ConsoleMarkers.LastError(console));
    }

    [Fact]
    public void TheSystemdShutdownHookReasonCountsAsACleanPoweroff()
    {
        var console = ConsoleMarkers.FormatBoot("1.0.0") + "\n[  OK  ] Reached target System Power Off.\n" + ConsoleMarkers.FormatPoweroff(PoweroffReasons.Systemd("poweroff"), null) + "\n";

        Assert.True(ConsoleMarkers.TryParsePoweroff(console, out var reason, out var exitCode));
        Assert.Equal(("systemd-poweroff", null), (reason, exitCode));
    }
}
