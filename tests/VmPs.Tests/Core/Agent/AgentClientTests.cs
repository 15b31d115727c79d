using System.Net.Sockets;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Native;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Agent;

public class AgentClientTests
{
    [Fact]
    public async Task An_agent_with_another_protocol_version_is_refused_with_a_clear_error()
    {
        await using var server = new FakeAgentServer(async stream =>
        {
            var hello = await ReadHelloAsync(stream);
            await new FrameWriter(stream).WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version + 1, hello.Nonce, "9.9.9"), ProtocolJsonContext.Default.HelloAckMessage, default);
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });

        var error = await Assert.ThrowsAsync<VmPsException>(() => AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), default));

        Assert.Equal(("AgentVersionMismatch", VmPsErrorKind.ProtocolError), (error.ErrorId, error.Kind));
        Assert.Contains("VmPs 9.9.9", error.Message);
        Assert.NotNull(error.RecommendedAction);
    }

    [Fact]
    public async Task The_handshake_ignores_acks_for_other_nonces()
    {
        await using var server = new FakeAgentServer(async stream =>
        {
            var hello = await ReadHelloAsync(stream);
            var writer = new FrameWriter(stream);
            await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version + 1, "someone-else", "0.0.1"), ProtocolJsonContext.Default.HelloAckMessage, default);
            await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, "1.2.3"), ProtocolJsonContext.Default.HelloAckMessage, default);
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });

        await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), default);

        Assert.Equal("1.2.3", client.AgentVersion);
    }

    [Fact]
    public async Task Random_frames_from_the_agent_fail_pending_requests_with_a_specific_error()
    {
        var random = new Random(99);
        for (var i = 0; i < 40; i++)
        {
            var junk = new byte[random.Next(1, 300)];
            random.NextBytes(junk);
            var asFrame = i % 2 == 0;
            await using var server = new FakeAgentServer(async stream =>
            {
                var hello = await ReadHelloAsync(stream);
                var writer = new FrameWriter(stream);
                await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
                await new FrameReader(stream).ReadAsync(default);
                if (asFrame)
                {
                    // A reply on the ping's channel whose payload is garbage, then a torn frame.
                    await writer.WriteAsync(FrameType.Pong, 1, junk, default);
                    await stream.WriteAsync(junk.AsMemory(0, junk.Length / 2));
                }
                else
                {
                    await stream.WriteAsync(junk);
                }
            });
            await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), default);

            var error = await Assert.ThrowsAsync<VmPsException>(() => client.PingAsync(default));

            Assert.Contains(error.ErrorId, new[] { "AgentProtocolError", "AgentConnectionLost" });
        }
    }

    [Fact]
    public async Task An_agent_that_hangs_up_fails_running_execs_as_connection_lost()
    {
        await using var server = new FakeAgentServer(async stream =>
        {
            var hello = await ReadHelloAsync(stream);
            var writer = new FrameWriter(stream);
            await writer.WriteJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, "0.1.0"), ProtocolJsonContext.Default.HelloAckMessage, default);
            var start = await new FrameReader(stream).ReadAsync(default);
            await writer.WriteJsonAsync(FrameType.ExecStarted, start!.Value.Channel, new ExecStartedMessage(77), ProtocolJsonContext.Default.ExecStartedMessage, default);
            await writer.WriteAsync(FrameType.Stdout, start.Value.Channel, "partial"u8.ToArray(), default);
        });
        await using var client = await AgentClient.ConnectAsync(new AgentVirtioSerialConnector(server.SocketPath), default);

        var error = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest(["true"]), default));

        Assert.Equal(("AgentConnectionLost", VmPsErrorKind.ConnectionError), (error.ErrorId, error.Kind));
        Assert.Equal("AgentConnectionLost", (await Assert.ThrowsAsync<VmPsException>(() => client.PingAsync(default))).ErrorId);
    }

    [Fact]
    public async Task A_virtio_serial_connection_holds_the_lock_beside_the_socket_until_disposed()
    {
        await using var agent = await GuestAgentProcess.StartAsync();
        var connector = new AgentVirtioSerialConnector(agent.SocketPath);

        var client = await AgentClient.ConnectAsync(connector, default);
        var lockedWhileConnected = !TryLock(connector.LockPath);
        await client.DisposeAsync();

        Assert.True(lockedWhileConnected);
        Assert.True(TryLock(connector.LockPath));
    }

    [Fact]
    public async Task Shutdown_is_acknowledged_and_ends_an_agent_outside_a_VM()
    {
        await using var agent = await GuestAgentProcess.StartAsync();
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        await client.ShutdownAsync(reboot: false, force: false, default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await agent.Process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, agent.Process.ExitCode);
        Assert.False(File.Exists(agent.SocketPath));
    }

    [Fact]
    public void The_factory_picks_the_connector_for_each_transport()
    {
        Assert.Equal("/run/a.sock", Assert.IsType<AgentVirtioSerialConnector>(AgentConnectors.For(AgentEndpoint.VirtioSerial("/run/a.sock"))).SocketPath);
        var vsock = Assert.IsType<AgentVsockConnector>(AgentConnectors.For(AgentEndpoint.KernelVsock(7)));
        Assert.Equal((7u, 1024u), (vsock.Cid, vsock.Port));
    }

    [RequiresVsockFact]
    public async Task The_vsock_connector_reaches_the_kernel_and_reports_a_missing_guest_as_a_socket_error()
    {
        // CID 4000000 has no VM: the kernel answers (ENODEV without a transport, ECONNRESET/ETIMEDOUT with one).
        var connector = AgentConnectors.For(AgentEndpoint.KernelVsock(4_000_000));

        var error = await Assert.ThrowsAsync<SocketException>(() => connector.ConnectAsync(default));

        Assert.NotEqual(SocketError.AddressFamilyNotSupported, error.SocketErrorCode);
    }

    private static async Task<HelloMessage> ReadHelloAsync(Stream stream)
    {
        var frame = await new FrameReader(stream).ReadAsync(default);
        Assert.Equal(FrameType.Hello, frame!.Value.Type);
        return ProtocolJson.Deserialize(frame.Value.Payload.Span, ProtocolJsonContext.Default.HelloMessage);
    }

    /// <summary>Tries the exclusive flock another pwsh session would take (opened with libc: .NET adds its own locks).</summary>
    private static bool TryLock(string path)
    {
        var fd = Libc.open(path, 2, 0);
        Assert.True(fd >= 0, $"cannot open {path}");
        try
        {
            return Libc.flock(fd, 2 | 4) == 0;
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
