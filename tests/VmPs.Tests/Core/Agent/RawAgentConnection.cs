using System.Net.Sockets;
using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>A frame-level connection to an agent socket, for tests that speak the protocol by hand.</summary>
public sealed class RawAgentConnection : IAsyncDisposable
{
    private readonly NetworkStream stream;

    private RawAgentConnection(NetworkStream stream)
    {
        this.stream = stream;
        Reader = new FrameReader(stream);
        Writer = new FrameWriter(stream);
    }

    public FrameReader Reader { get; }

    public FrameWriter Writer { get; }

    public Stream Stream => stream;

    public static async Task<RawAgentConnection> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return new RawAgentConnection(new NetworkStream(socket, ownsSocket: true));
    }

    public ValueTask SendHelloAsync(int protocolVersion, string nonce) =>
        Writer.WriteJsonAsync(FrameType.Hello, 0, new HelloMessage(protocolVersion, nonce, "test"), ProtocolJsonContext.Default.HelloMessage, default);

    public async Task<Frame> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await Reader.ReadAsync(timeout.Token) ?? throw new EndOfStreamException("The agent closed the connection.");
    }

    public static T Parse<T>(Frame frame, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo) =>
        JsonSerializer.Deserialize(frame.Payload.Span, typeInfo)!;

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();
}
