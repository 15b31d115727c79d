using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>The host client against agents that are dead, silent or send garbage: a specific error, never a hang.</summary>
public class AgentClientRobustnessTests
{
    private static readonly TimeSpan ShortReplyTimeout = TimeSpan.FromMilliseconds(300);

    // For a client that must stay connected: a pong the test's own server sends can wait behind a busy thread pool
    // while the suite runs, and at 300 ms such a stall alone ends the connection.
    private static readonly TimeSpan LiveReplyTimeout = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task An_agent_that_never_answers_the_handshake_is_AgentNotResponding()
    {
        await using var server = new FakeAgentServer(FakeAgentServer.DrainUntilHangupAsync);

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), ShortReplyTimeout, default).WaitAsync(HangGuard));

        Assert.Equal(("AgentNotResponding", VmPsErrorKind.OperationTimeout), (error.ErrorId, error.Kind));
        Assert.Contains("handshake", error.Message);
        Assert.NotNull(error.RecommendedAction);
    }

    [Fact]
    public async Task A_handshake_left_unanswered_is_tried_again_on_a_new_connection_which_skips_the_late_answer()
    {
        // As a virtio-serial port that missed the first connection: that Hello's answer comes out on the next one.
        var firstNonce = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var connections = 0;
        await using var server = new FakeAgentServer(async stream =>
        {
            if (Interlocked.Increment(ref connections) == 1)
            {
                firstNonce.SetResult((await ReadHelloAsync(stream)).Nonce);
                await FakeAgentServer.DrainUntilHangupAsync(stream);
                return;
            }

            var writer = new FrameWriter(stream);
            await writer.WriteAsync(FrameType.Listening, Frame.ConnectionChannel, ReadOnlyMemory<byte>.Empty, default);
            await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, await firstNonce.Task, "0.0.9"), ProtocolJsonContext.Default.HelloAckMessage, default);
            var hello = await ReadHelloAsync(stream);
            await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });

        await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), TimeSpan.FromSeconds(20), default).WaitAsync(HangGuard);

        Assert.Equal((2, "0.1.0"), (connections, client.AgentVersion));
    }

    [Fact]
    public async Task Requests_an_agent_never_answers_fail_with_AgentNotResponding()
    {
        await using var server = new FakeAgentServer(async stream =>
        {
            await AckHelloAsync(stream);
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });
        await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), ShortReplyTimeout, default);

        var ping = await Assert.ThrowsAsync<VmPsException>(() => client.PingAsync(default).WaitAsync(HangGuard));
        var exec = await Assert.ThrowsAsync<VmPsException>(() => client.StartExecAsync(new AgentExecRequest(["true"]), default).WaitAsync(HangGuard));
        var clock = await Assert.ThrowsAsync<VmPsException>(() => client.SyncClockAsync(default).WaitAsync(HangGuard));

        Assert.Equal(["AgentNotResponding", "AgentNotResponding", "AgentNotResponding"], new[] { ping.ErrorId, exec.ErrorId, clock.ErrorId });
        Assert.Contains("'true'", exec.Message);
    }

    [Fact]
    public async Task A_command_whose_agent_went_silent_fails_with_AgentNotResponding_and_one_that_answers_pings_runs_on()
    {
        // The agent starts the command, then its guest reboots in place: the transport stays open and nothing answers.
        await using var silent = new FakeAgentServer(async stream =>
        {
            var writer = await AckHelloAsync(stream);
            var start = await new FrameReader(stream).ReadAsync(default);
            await writer.WriteJsonAsync(FrameType.ExecStarted, start!.Value.Channel, new ExecStartedMessage(42), ProtocolJsonContext.Default.ExecStartedMessage, default);
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });
        await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(silent.SocketPath), ShortReplyTimeout, default);

        var error = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest(["sleep", "100"]), default).WaitAsync(HangGuard));

        Assert.Equal(("AgentNotResponding", VmPsErrorKind.OperationTimeout), (error.ErrorId, error.Kind));

        // A live agent answers the keepalive pings while its command runs silent for many reply timeouts.
        var quietFor = LiveReplyTimeout * 3;
        await using var alive = new FakeAgentServer(async stream =>
        {
            var writer = await AckHelloAsync(stream);
            var reader = new FrameReader(stream);
            var channel = (await reader.ReadAsync(default))!.Value.Channel;
            await writer.WriteJsonAsync(FrameType.ExecStarted, channel, new ExecStartedMessage(42), ProtocolJsonContext.Default.ExecStartedMessage, default);
            var exitAt = DateTime.UtcNow + quietFor;
            var pings = 0;
            var exited = false;
            while (await reader.ReadAsync(default) is { } frame)
            {
                if (frame.Type == FrameType.Ping)
                {
                    pings++;
                    await writer.WriteJsonAsync(FrameType.Pong, frame.Channel, new PongMessage("0.1.0", 1), ProtocolJsonContext.Default.PongMessage, default);
                }

                if (!exited && DateTime.UtcNow >= exitAt && pings > 0)
                {
                    exited = true;
                    await writer.WriteJsonAsync(FrameType.ExecExit, channel, new ExecExitMessage(0, null), ProtocolJsonContext.Default.ExecExitMessage, default);
                }
            }
        });
        await using var kept = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(alive.SocketPath), LiveReplyTimeout, default);

        var result = await kept.ExecAsync(new AgentExecRequest(["sleep", "2"]), default).WaitAsync(HangGuard);

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Duration >= quietFor, $"{result.Duration}");
    }

    [Fact]
    public async Task Garbage_in_an_execs_frames_fails_the_exec_with_a_specific_error()
    {
        var random = new Random(7);
        FrameType[] execTypes = [FrameType.ExecStarted, FrameType.ExecExit, FrameType.StdinCredit, FrameType.Error, FrameType.Stdout];
        for (var i = 0; i < 30; i++)
        {
            var junk = new byte[random.Next(1, 400)];
            random.NextBytes(junk);
            var type = execTypes[i % execTypes.Length];
            var torn = new byte[FrameHeader.Size + junk.Length];
            random.NextBytes(torn);
            var tornAt = random.Next(torn.Length);
            await using var server = new FakeAgentServer(async stream =>
            {
                var writer = await AckHelloAsync(stream);
                var start = (await new FrameReader(stream).ReadAsync(default))!.Value;
                await writer.WriteJsonAsync(FrameType.ExecStarted, start.Channel, new ExecStartedMessage(10), ProtocolJsonContext.Default.ExecStartedMessage, default);
                await writer.WriteAsync(FrameType.Stdout, start.Channel, "before the garbage"u8.ToArray(), default);
                if (type != FrameType.Stdout)
                {
                    // A frame of the exec whose JSON is garbage.
                    await writer.WriteAsync(type, start.Channel, junk, default);
                }

                // Then bytes that are not a frame, torn off anywhere, and the agent dies.
                await stream.WriteAsync(torn.AsMemory(0, tornAt));
            });
            await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), default);

            var error = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest(["true"]), default).WaitAsync(HangGuard));
            var after = await Assert.ThrowsAsync<VmPsException>(() => client.PingAsync(default).WaitAsync(HangGuard));

            Assert.Contains(error.ErrorId, new[] { "AgentProtocolError", "AgentConnectionLost", "AgentNotResponding" });
            Assert.Contains(after.ErrorId, new[] { "AgentProtocolError", "AgentConnectionLost", "AgentNotResponding" });
        }
    }

    private static async Task<HelloMessage> ReadHelloAsync(Stream stream)
    {
        var frame = await new FrameReader(stream).ReadAsync(default);
        return ProtocolJson.Deserialize(frame!.Value.Payload.Span, ProtocolJsonContext.Default.HelloMessage);
    }

    private static async Task<FrameWriter> AckHelloAsync(Stream stream)
    {
        var hello = await ReadHelloAsync(stream);
        var writer = new FrameWriter(stream);
        await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
        return writer;
    }
}
