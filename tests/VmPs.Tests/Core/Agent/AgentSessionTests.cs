using VmPs.Core.Agent;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>The real agent's session handling, spoken to frame by frame.</summary>
public class AgentSessionTests : IClassFixture<GuestAgentFixture>
{
    private readonly GuestAgentProcess agent;

    public AgentSessionTests(GuestAgentFixture fixture)
    {
        agent = fixture.Agent;
    }

    [Fact]
    public async Task A_host_with_another_protocol_version_gets_the_agent_version_and_a_mismatch_error()
    {
        await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);

        await connection.SendHelloAsync(ProtocolInfo.Version + 98, "n1");
        var ack = RawAgentConnection.Parse(await connection.ReadAsync(), ProtocolJsonContext.Default.HelloAckMessage);
        var error = RawAgentConnection.Parse(await connection.ReadAsync(), ProtocolJsonContext.Default.ErrorMessage);

        Assert.Equal((ProtocolInfo.Version, "n1"), (ack.ProtocolVersion, ack.Nonce));
        Assert.Equal(ErrorCodes.ProtocolVersionMismatch, error.Code);
        Assert.Contains($"the host speaks {ProtocolInfo.Version + 98}", error.Message);
        Assert.Null(await connection.Reader.ReadAsync(default));
    }

    [Fact]
    public async Task Leftover_bytes_before_the_hello_are_skipped()
    {
        await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);
        var junk = new byte[5000];
        new Random(3).NextBytes(junk);

        await connection.Stream.WriteAsync(junk);
        await connection.Writer.WriteAsync(FrameType.Stdin, 4, "stale"u8.ToArray(), default);
        await connection.SendHelloAsync(ProtocolInfo.Version, "after-junk");
        var ack = RawAgentConnection.Parse(await connection.ReadAsync(), ProtocolJsonContext.Default.HelloAckMessage);

        Assert.Equal("after-junk", ack.Nonce);
    }

    [Fact]
    public async Task A_second_hello_on_the_same_stream_starts_a_fresh_session_and_kills_the_old_execs()
    {
        await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);
        await connection.SendHelloAsync(ProtocolInfo.Version, "first");
        await connection.ReadAsync();
        await connection.Writer.WriteJsonAsync(FrameType.ExecStart, 5, new ExecStartMessage(["sleep", "60"]), ProtocolJsonContext.Default.ExecStartMessage, default);
        var pid = RawAgentConnection.Parse(await connection.ReadAsync(), ProtocolJsonContext.Default.ExecStartedMessage).Pid;

        await connection.SendHelloAsync(ProtocolInfo.Version, "second");
        var frames = new List<Frame>();
        Frame frame;
        do
        {
            frame = await connection.ReadAsync();
            frames.Add(frame);
        }
        while (frame.Type != FrameType.HelloAck);

        Assert.Equal("second", RawAgentConnection.Parse(frame, ProtocolJsonContext.Default.HelloAckMessage).Nonce);
        await WaitUntilGoneAsync(pid);
    }

    [Fact]
    public async Task Unknown_and_malformed_requests_get_an_error_and_the_session_goes_on()
    {
        await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);
        await connection.SendHelloAsync(ProtocolInfo.Version, "n");
        await connection.ReadAsync();

        await connection.Writer.WriteAsync((FrameType)0x5F, 3, ReadOnlyMemory<byte>.Empty, default);
        await connection.Writer.WriteAsync((FrameType)0xEE, 4, ReadOnlyMemory<byte>.Empty, default);
        await connection.Writer.WriteAsync(FrameType.ExecStart, 5, "{not json"u8.ToArray(), default);
        await connection.Writer.WriteAsync(FrameType.Signal, 6, "{\"signal\":15}"u8.ToArray(), default);
        await connection.Writer.WriteAsync(FrameType.Ping, 7, ReadOnlyMemory<byte>.Empty, default);

        var codes = new List<(uint, string)>();
        for (var i = 0; i < 4; i++)
        {
            var error = await connection.ReadAsync();
            codes.Add((error.Channel, RawAgentConnection.Parse(error, ProtocolJsonContext.Default.ErrorMessage).Code));
        }

        var pong = await connection.ReadAsync();
        Assert.Equal(
            [(3u, ErrorCodes.Unsupported), (4u, ErrorCodes.Unsupported), (5u, ErrorCodes.BadRequest), (6u, ErrorCodes.UnknownChannel)],
            codes);
        Assert.Equal((FrameType.Pong, 7u), (pong.Type, pong.Channel));
    }

    [Fact]
    public async Task Random_and_truncated_frames_never_take_the_agent_down()
    {
        var random = new Random(42);
        for (var i = 0; i < 60; i++)
        {
            await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);
            if (i % 2 == 1)
            {
                await connection.SendHelloAsync(ProtocolInfo.Version, $"fuzz-{i}");
                await connection.ReadAsync();
            }

            for (var frame = 0; frame < 5; frame++)
            {
                var payload = new byte[random.Next(0, 200)];
                random.NextBytes(payload);
                var bytes = new byte[FrameHeader.Size + payload.Length];
                FrameHeader.Write(bytes, (FrameType)random.Next(0, 0x70), (uint)random.Next(0, 4), payload.Length);
                payload.CopyTo(bytes, FrameHeader.Size);
                if (random.Next(4) == 0)
                {
                    random.NextBytes(bytes.AsSpan(0, FrameHeader.Size));
                }

                try
                {
                    await connection.Stream.WriteAsync(bytes.AsMemory(0, random.Next(4) == 0 ? random.Next(bytes.Length) : bytes.Length));
                }
                catch (IOException)
                {
                    // The agent hangs up on a stream that is not the protocol: expected, next connection.
                    break;
                }
            }
        }

        Assert.False(agent.Process.HasExited);
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        Assert.Equal("alive\n", (await client.ExecAsync(new AgentExecRequest(["echo", "alive"]), default)).Stdout);
    }

    private static async Task WaitUntilGoneAsync(int pid)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (IsRunning(pid))
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
        }
        catch (IOException)
        {
            return false;
        }
    }
}
