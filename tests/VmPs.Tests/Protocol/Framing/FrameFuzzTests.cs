using VmPs.Protocol;
using VmPs.Protocol.Framing;

namespace VmPs.Tests.Protocol.Framing;

public class FrameFuzzTests
{
    private const int Iterations = 2000;

    [Fact]
    public async Task Random_bytes_only_ever_yield_frames_or_protocol_errors()
    {
        var random = new Random(20261122);
        for (var i = 0; i < Iterations; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (random.Next(2) == 0 && bytes.Length >= 2)
            {
                bytes[0] = FrameHeader.Magic0;
                bytes[1] = FrameHeader.Magic1;
            }

            await ReadAllAsync(bytes);
        }
    }

    [Fact]
    public async Task Every_truncation_of_valid_frames_is_either_whole_frames_or_a_protocol_error()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        await writer.WriteAsync(FrameType.Stdout, 1, "abc"u8.ToArray(), default);
        await writer.WriteAsync(FrameType.Stderr, 2, new byte[300], default);
        var whole = stream.ToArray();

        for (var length = 0; length <= whole.Length; length++)
        {
            var frames = await ReadAllAsync(whole[..length]);
            var expected = length >= whole.Length ? 2 : length >= FrameHeader.Size + 3 ? 1 : 0;
            Assert.Equal(expected, frames);
        }
    }

    [Fact]
    public async Task Resync_over_random_bytes_terminates_without_throwing()
    {
        var random = new Random(7);
        for (var i = 0; i < Iterations / 4; i++)
        {
            var bytes = new byte[random.Next(0, 256)];
            random.NextBytes(bytes);
            var reader = new FrameReader(new MemoryStream(bytes));
            while (await reader.ResyncAsync(FrameType.HelloAck, 4096, _ => random.Next(2) == 0, default) is not null)
            {
            }
        }
    }

    /// <summary>Reads until EOF or a protocol error; any other exception fails the test.</summary>
    private static async Task<int> ReadAllAsync(byte[] bytes)
    {
        var reader = new FrameReader(new MemoryStream(bytes));
        var count = 0;
        try
        {
            while (await reader.ReadAsync(default) is not null)
            {
                count++;
            }
        }
        catch (ProtocolException)
        {
        }

        return count;
    }
}
