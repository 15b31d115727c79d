using VmPs.Protocol.Metering;

namespace VmPs.Tests.Protocol.Metering;

public sealed class MemInfoTests
{
    private static readonly (long? TotalBytes, long? AvailableBytes) Nothing = (null, null);

    [Fact]
    public void MemTotalAndMemAvailableAreReadInBytes()
    {
        const string text = "MemTotal:         502392 kB\nMemFree:          400000 kB\nMemAvailable:     450100 kB\nBuffers:            1000 kB\n";

        Assert.Equal((502392L * 1024, 450100L * 1024), MemInfo.Parse(text));
    }

    [Theory]
    [InlineData("MemTotal: 12 MB\nMemAvailable: x kB")]
    [InlineData("MemTotal: -12 kB\nMemAvailable: 9223372036854775807 kB")]
    [InlineData("MemTotal 12 kB\nMemAvailable:")]
    [InlineData("")]
    public void AMissingOrMalformedFigureIsNull(string text) => Assert.Equal(Nothing, MemInfo.Parse(text));

    [Fact]
    public void ThisHostsMemInfoIsReadWithinTheBound()
    {
        var (total, available) = MemInfo.Read();

        Assert.True(total > 0);
        Assert.InRange(available!.Value, 0, total!.Value);
        Assert.Equal(Nothing, MemInfo.Read("/proc/no-such-file"));
    }
}
