using System.Net.Sockets;
using System.Text;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Tests.Core.Agent;

public sealed class HybridVsockConnectorTests : IDisposable
{
    private readonly ChTestVm vm = new();

    public void Dispose() => vm.Dispose();

    private string SocketPath => vm.PathOf("vsock.sock");

    [Fact]
    public async Task HandshakeHandsOverTheStreamWithoutSwallowingGuestBytes()
    {
        // The guest speaks first, right behind CH's "OK" line: those bytes must reach the caller.
        FakeGuestService greeter = async (connection, cancellationToken) =>
        {
            await connection.WriteAsync("agent ready\n"u8.ToArray(), cancellationToken);
            await FakeGuestServices.Echo(connection, cancellationToken);
        };
        await using var vsock = new FakeHybridVsock(SocketPath, new Dictionary<uint, FakeGuestService> { [1024] = greeter });

        await using var stream = await new HybridVsockConnector(SocketPath, 1024).ConnectAsync(CancellationToken.None);
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);

        Assert.Equal("agent ready", await reader.ReadLineAsync());
        await stream.WriteAsync("ping\n"u8.ToArray());
        Assert.Equal("ping", await reader.ReadLineAsync());
    }

    [Fact]
    public async Task PortNobodyListensOnIsARetryableRefusal()
    {
        await using var vsock = new FakeHybridVsock(SocketPath, new Dictionary<uint, FakeGuestService> { [1024] = FakeGuestServices.Echo });

        var error = await Assert.ThrowsAsync<VmPsException>(() => new HybridVsockConnector(SocketPath, 2048).ConnectAsync(CancellationToken.None));

        Assert.Equal(HybridVsockConnector.RefusedErrorId, error.ErrorId);
        Assert.Equal(VmPsErrorKind.ConnectionError, error.Kind);
        Assert.Contains("2048", error.Message);
    }

    [Fact]
    public async Task MissingSocketIsARetryableConnectionError()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => new HybridVsockConnector(SocketPath, 1024).ConnectAsync(CancellationToken.None));

        Assert.Equal(HybridVsockConnector.UnreachableErrorId, error.ErrorId);
        Assert.Equal(VmPsErrorKind.ConnectionError, error.Kind);
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Theory]
    [InlineData("ERR no listener\n", HybridVsockConnector.HandshakeFailedErrorId)]
    [InlineData("OK\n", HybridVsockConnector.HandshakeFailedErrorId)]
    [InlineData("OK 12x\n", HybridVsockConnector.HandshakeFailedErrorId)]
    [InlineData("OK 1024", HybridVsockConnector.RefusedErrorId)]
    public async Task ReplyOtherThanOkWithAPortFails(string reply, string errorId)
    {
        await using var server = new FakeUnixServer(SocketPath, async (connection, cancellationToken) =>
        {
            var request = new byte["CONNECT 1024\n".Length];
            await connection.ReadExactlyAsync(request, cancellationToken);
            await connection.WriteAsync(Encoding.ASCII.GetBytes(reply), cancellationToken);
            connection.Socket.Shutdown(SocketShutdown.Send);
        });

        var error = await Assert.ThrowsAsync<VmPsException>(() => new HybridVsockConnector(SocketPath, 1024).ConnectAsync(CancellationToken.None));

        Assert.Equal(VmPsErrorKind.ConnectionError, error.Kind);
        Assert.Equal(errorId, error.ErrorId);
    }
}
