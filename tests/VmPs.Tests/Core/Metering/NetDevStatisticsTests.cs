using VmPs.Core.Metering;

namespace VmPs.Tests.Core.Metering;

public sealed class NetDevStatisticsTests
{
    private const string Table = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0
        vmps-t1a2: 98765  432    0    0    0     0          0         0 12345678  9876    0    0    0     0       0          0
        """;

    [Fact]
    public void TheNamedInterfacesBytesAndPacketsAreReadInBothDirections()
    {
        var counters = NetDevStatistics.Find(Table, "vmps-t1a2");

        Assert.Equal(new InterfaceCounters(98765, 432, 12345678, 9876), counters);
        Assert.Equal(432 + 9876, counters!.Packets);
    }

    [Theory]
    [InlineData("vmps-t1")]
    [InlineData("face |bytes")]
    [InlineData("")]
    public void AnInterfaceNotInTheTableIsNull(string name) => Assert.Null(NetDevStatistics.Find(Table, name));

    [Theory]
    [InlineData("tap0: 1 2 3")]
    [InlineData("tap0: 1 -2 0 0 0 0 0 0 5 6 0")]
    [InlineData("tap0: 1 2 0 0 0 0 0 0 5 99999999999999999999 0")]
    [InlineData("tap0: x 2 0 0 0 0 0 0 5 6 0")]
    public void AMalformedLineIsNull(string line) => Assert.Null(NetDevStatistics.Find(line, "tap0"));

    [Fact]
    public void ThisProcesssLoopbackIsFoundInItsOwnProcNetDev()
    {
        var counters = NetDevStatistics.Find(File.ReadAllText("/proc/self/net/dev"), "lo");

        Assert.NotNull(counters);
        Assert.True(counters.ReceivedPackets >= 0 && counters.SentPackets >= 0);
    }
}
