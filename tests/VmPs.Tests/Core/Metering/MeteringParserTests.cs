using System.Text.Json.Nodes;
using VmPs.Core.Metering;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Metering;

/// <summary>The parsers behind Measure-Vm: /proc/PID/stat, QEMU's query-blockstats, CH's vm.counters, the guest's memory claim.</summary>
public sealed class MeteringParserTests
{
    [Fact]
    public void AStatLineGivesUserPlusSystemTimeAndResidentPagesEvenWithParenthesesInTheName()
    {
        // Fields 14 and 15 (utime 250, stime 50 ticks) and 24 (rss 1000 pages); the name holds ") (".
        const string stat = "4242 (qemu) (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1234567 1073741824 1000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";

        var usage = ProcessUsage.Parse(stat, ticksPerSecond: 100, pageSize: 4096);

        Assert.Equal(new ProcessUsage(TimeSpan.FromSeconds(3), 1000 * 4096), usage);
    }

    [Theory]
    [InlineData("4242 (qemu) S 1 2 3")]
    [InlineData("no parenthesis at all")]
    [InlineData("4242 (qemu) S 1 4242 4242 0 -1 4194560 100 0 0 0 -250 50 0 0 20 0 3 0 1234567 1073741824 1000")]
    [InlineData("4242 (qemu)")]
    public void AMalformedStatLineIsNoUsage(string stat) => Assert.Null(ProcessUsage.Parse(stat, 100, 4096));

    [Fact]
    public void ThisProcessMeasuresItselfThroughProc()
    {
        var usage = HypervisorProcessFiles.ReadUsage(ProcessProbe.Current());

        Assert.NotNull(usage);
        Assert.InRange(usage.ResidentBytes, 1L << 20, long.MaxValue);
        Assert.True(usage.CpuTime > TimeSpan.Zero);
        Assert.Null(HypervisorProcessFiles.ReadUsage(new ProcessIdentity(Environment.ProcessId, 1)));
    }

    [Fact]
    public void QemuBlockStatsAreSummedOverEveryDevice()
    {
        var answer = JsonNode.Parse("""
            [{"device": "disk0", "stats": {"rd_bytes": 1000, "wr_bytes": 0, "rd_operations": 3}},
             {"device": "", "qdev": "/machine/peripheral-anon/device[1]", "stats": {"rd_bytes": 24, "wr_bytes": 4096}}]
            """);

        Assert.Equal(new DiskCounters(1024, 4096), DiskCounters.FromQemuBlockStats(answer));
        Assert.Equal(new DiskCounters(0, 0), DiskCounters.FromQemuBlockStats(new JsonArray()));
    }

    [Theory]
    [InlineData("""{"stats": {}}""")]
    [InlineData("""[{"stats": {"rd_bytes": -1, "wr_bytes": 0}}]""")]
    [InlineData("""[{"stats": {"rd_bytes": "12", "wr_bytes": 0}}]""")]
    [InlineData("""[{"device": "disk0"}]""")]
    public void AQemuAnswerOfAnotherShapeIsNoCounters(string json) => Assert.Null(DiskCounters.FromQemuBlockStats(JsonNode.Parse(json)));

    [Fact]
    public void CloudHypervisorCountersSumTheBlockDevicesAndSaturate()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["_disk0"] = new() { ["read_bytes"] = 10, ["write_bytes"] = 20, ["read_ops"] = 1 },
            ["_disk1"] = new() { ["read_bytes"] = long.MaxValue, ["write_bytes"] = -5 },
            ["_net2"] = new() { ["rx_bytes"] = 1000, ["tx_bytes"] = 2000 },
        };

        Assert.Equal(new DiskCounters(long.MaxValue, 20), DiskCounters.FromCloudHypervisorCounters(counters));
    }

    [Theory]
    [InlineData(500L << 20, 300L << 20, true)]
    [InlineData(512L << 20, 512L << 20, true)]
    [InlineData((512L << 20) + 1, 0L, false)]
    [InlineData(500L << 20, (500L << 20) + 1, false)]
    [InlineData(0L, 0L, false)]
    [InlineData(500L << 20, -1L, false)]
    public void TheGuestsMemoryClaimIsBelievedOnlyWithinTheVmsMemory(long total, long available, bool believed)
    {
        var view = GuestMemoryView.Validate(total, available, configuredBytes: 512L << 20);

        Assert.Equal(believed ? new GuestMemoryView(total, available) : null, view);
        Assert.Null(GuestMemoryView.Validate(null, available, 512L << 20));
        Assert.Null(GuestMemoryView.Validate(total, null, 512L << 20));
    }
}
