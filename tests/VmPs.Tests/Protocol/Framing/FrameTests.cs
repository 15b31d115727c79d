using System.Text;
using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Protocol.Framing;

public class FrameTests
{
    [Fact]
    public async Task Frames_round_trip_in_order_with_type_channel_and_payload()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        await writer.WriteAsync(FrameType.Stdout, 7, "hello"u8.ToArray(), default);
        await writer.WriteAsync(FrameType.StdinClose, 7, ReadOnlyMemory<byte>.Empty, default);
        await writer.WriteJsonAsync(FrameType.ExecExit, uint.MaxValue, new ExecExitMessage(3, null), ProtocolJsonContext.Default.ExecExitMessage, default);

        stream.Position = 0;
        var reader = new FrameReader(stream);
        var first = await reader.ReadAsync(default);
        var second = await reader.ReadAsync(default);
        var third = await reader.ReadAsync(default);

        Assert.Equal((FrameType.Stdout, 7u, "hello"), (first!.Value.Type, first.Value.Channel, Encoding.UTF8.GetString(first.Value.Payload.Span)));
        Assert.Equal((FrameType.StdinClose, 7u, 0), (second!.Value.Type, second.Value.Channel, second.Value.Payload.Length));
        Assert.Equal(uint.MaxValue, third!.Value.Channel);
        Assert.Equal(new ExecExitMessage(3, null), ProtocolJson.Deserialize(third.Value.Payload.Span, ProtocolJsonContext.Default.ExecExitMessage));
        Assert.Null(await reader.ReadAsync(default));
    }

    [Fact]
    public async Task The_header_is_magic_type_flags_channel_and_length_big_endian()
    {
        var stream = new MemoryStream();
        await new FrameWriter(stream).WriteAsync(FrameType.Ping, 0x01020304, new byte[] { 0xAA }, default);

        Assert.Equal(new byte[] { (byte)'V', (byte)'P', 0x10, 0, 1, 2, 3, 4, 0, 0, 0, 1, 0xAA }, stream.ToArray());
    }

    [Fact]
    public async Task Bulk_data_is_split_into_frames_within_the_size_limit()
    {
        var stream = new MemoryStream();
        var data = new byte[FrameHeader.MaxPayloadLength + 100_000];
        new Random(1).NextBytes(data);
        await new FrameWriter(stream).WriteDataAsync(FrameType.Stdin, 3, data, default);

        stream.Position = 0;
        var reader = new FrameReader(stream);
        var received = new MemoryStream();
        while (await reader.ReadAsync(default) is { } frame)
        {
            Assert.InRange(frame.Payload.Length, 1, FrameHeader.MaxPayloadLength);
            received.Write(frame.Payload.Span);
        }

        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused_by_the_writer()
    {
        var writer = new FrameWriter(new MemoryStream());

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await writer.WriteAsync(FrameType.Stdout, 1, new byte[FrameHeader.MaxPayloadLength + 1], default));
    }

    [Fact]
    public async Task A_header_announcing_more_than_the_limit_is_a_protocol_error()
    {
        var header = new byte[FrameHeader.Size];
        FrameHeader.Write(header, FrameType.Stdout, 1, 0);
        header[8] = 0x7F;

        var error = await Assert.ThrowsAsync<ProtocolException>(async () => await new FrameReader(new MemoryStream(header)).ReadAsync(default));
        Assert.Contains("not a frame header", error.Message);
    }

    [Fact]
    public async Task Bad_magic_is_a_protocol_error()
    {
        var bytes = Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2\r\n");

        await Assert.ThrowsAsync<ProtocolException>(async () => await new FrameReader(new MemoryStream(bytes)).ReadAsync(default));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(FrameHeader.Size + 2)]
    public async Task A_stream_ending_inside_a_frame_is_a_protocol_error(int keep)
    {
        var stream = new MemoryStream();
        await new FrameWriter(stream).WriteAsync(FrameType.Stdout, 1, new byte[10], default);

        var truncated = new MemoryStream(stream.ToArray()[..keep]);

        await Assert.ThrowsAsync<ProtocolException>(async () => await new FrameReader(truncated).ReadAsync(default));
    }

    [Fact]
    public async Task Resync_skips_garbage_stale_frames_and_other_nonces_until_the_expected_ack()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        stream.Write("leftover bytes VP\x02 of an old session"u8);
        await writer.WriteAsync(FrameType.Stdout, 9, "old output"u8.ToArray(), default);
        await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(1, "old-nonce", "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
        stream.Write(new byte[] { (byte)'V', (byte)'P', (byte)FrameType.HelloAck });
        await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(1, "mine", "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
        await writer.WriteAsync(FrameType.Pong, 4, "{}"u8.ToArray(), default);

        stream.Position = 0;
        var reader = new FrameReader(stream);
        var ack = await reader.ResyncAsync(FrameType.HelloAck, 4096, frame => NonceOf(frame) == "mine", default);

        Assert.Equal("mine", NonceOf(ack!.Value));
        Assert.Equal(FrameType.Pong, (await reader.ReadAsync(default))!.Value.Type);
    }

    [Fact]
    public async Task Resync_returns_null_when_the_stream_ends_without_the_frame()
    {
        var reader = new FrameReader(new MemoryStream("VPVPVP no frame here"u8.ToArray()));

        Assert.Null(await reader.ResyncAsync(FrameType.Hello, 4096, _ => true, default));
    }

    private static string? NonceOf(Frame frame)
    {
        try
        {
            return JsonSerializer.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.HelloAckMessage)?.Nonce;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
