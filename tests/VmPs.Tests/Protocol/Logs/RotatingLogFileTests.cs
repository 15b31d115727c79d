using VmPs.Protocol.Logs;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Logs;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RotatingLogFileTests : IDisposable
{
    private const int Cap = 64 * 1024;

    private readonly ScratchDirectory scratch = new();

    [Fact]
    public void AMiBWrittenInRandomChunksLeavesTheLastBytesInTwoFilesNeitherOverTheCap()
    {
        var path = scratch.Combine("app.log");
        var data = new byte[1024 * 1024];
        new Random(5).NextBytes(data);
        var random = new Random(6);

        using (var log = new RotatingLogFile(path, Cap))
        {
            for (var offset = 0; offset < data.Length;)
            {
                var size = Math.Min(random.Next(1, 3 * Cap), data.Length - offset);
                log.Write(data.AsSpan(offset, size));
                offset += size;
            }
        }

        var rotated = File.ReadAllBytes(RotatingLogFile.RotatedPath(path));
        var current = File.ReadAllBytes(path);
        Assert.Equal(Cap, rotated.Length);
        Assert.InRange(current.Length, 1, Cap);
        Assert.True(data.AsSpan(data.Length - rotated.Length - current.Length).SequenceEqual([.. rotated, .. current]));
    }

    [Fact]
    public void AnExistingFileIsAppendedToAndBothFilesAre0600()
    {
        var path = scratch.Combine("console.log");
        File.WriteAllBytes(path, new byte[Cap - 1]);
        File.SetUnixFileMode(path, (UnixFileMode)0x1B6);

        using (var log = new RotatingLogFile(path, Cap))
        {
            log.Write("ab"u8);
        }

        Assert.Equal(Cap, new FileInfo(RotatingLogFile.RotatedPath(path)).Length);
        Assert.Equal("b", File.ReadAllText(path));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(path));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(RotatingLogFile.RotatedPath(path)));
    }

    public void Dispose() => scratch.Dispose();
}
