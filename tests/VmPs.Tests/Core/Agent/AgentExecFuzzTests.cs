using VmPs.Core.Agent;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>The real agent binary fed garbage in the exec, terminal, credit and clock frames while execs run.</summary>
public class AgentExecFuzzTests : IClassFixture<GuestAgentFixture>
{
    private static readonly FrameType[] ExecTypes =
    [
        FrameType.ExecStart, FrameType.Stdin, FrameType.StdinClose, FrameType.Signal, FrameType.TtyResize,
        FrameType.OutputCredit, FrameType.StdinCredit, FrameType.ClockSync, FrameType.ExecExit,
    ];

    private readonly GuestAgentProcess agent;

    public AgentExecFuzzTests(GuestAgentFixture fixture)
    {
        agent = fixture.Agent;
    }

    [Fact]
    public async Task Garbage_exec_frames_on_live_channels_never_take_the_agent_down()
    {
        var random = new Random(1234);
        for (var round = 0; round < 25; round++)
        {
            await using var connection = await RawAgentConnection.ConnectAsync(agent.SocketPath);
            await connection.SendHelloAsync(ProtocolInfo.Version, $"exec-fuzz-{round}");
            await connection.ReadAsync();
            var tty = round % 2 == 0;
            await connection.Writer.WriteJsonAsync(FrameType.ExecStart, 5, new ExecStartMessage(["cat"], Tty: tty), ProtocolJsonContext.Default.ExecStartMessage, default);
            await connection.Writer.WriteJsonAsync(FrameType.ExecStart, 6, new ExecStartMessage(["sleep", "600"]), ProtocolJsonContext.Default.ExecStartMessage, default);

            try
            {
                for (var frame = 0; frame < 20; frame++)
                {
                    await connection.Stream.WriteAsync(RandomFrame(random));
                }

                // And one frame torn off in the middle, then the host goes away.
                var last = RandomFrame(random);
                await connection.Stream.WriteAsync(last.AsMemory(0, random.Next(1, last.Length)));
            }
            catch (IOException)
            {
                // The agent hung up on a stream that is not the protocol: expected.
            }
        }

        Assert.False(agent.Process.HasExited);
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var result = await client.ExecAsync(new AgentExecRequest(["echo", "alive"]) { Tty = true }, default);
        Assert.Equal("alive\r\n", result.Stdout);
    }

    private static byte[] RandomFrame(Random random)
    {
        var payload = random.Next(3) switch
        {
            0 => RandomBytes(random, random.Next(0, 300)),
            1 => "{\"columns\":-5,\"rows\":70000,\"bytes\":-1,\"signal\":999,\"unixTimeNanoseconds\":-3}"u8.ToArray(),
            _ => "{\"argv\":[],\"tty\":true,\"terminalSize\":{\"columns\":0,\"rows\":0}}"u8.ToArray(),
        };
        var bytes = new byte[FrameHeader.Size + payload.Length];
        FrameHeader.Write(bytes, ExecTypes[random.Next(ExecTypes.Length)], (uint)random.Next(0, 8), payload.Length);
        payload.CopyTo(bytes, FrameHeader.Size);
        return bytes;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
