using System.Net.Sockets;
using System.Text;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>The fake's own HTTP behaviour, spoken to with raw bytes, where VmPs's client never goes.</summary>
public sealed class FakeCloudHypervisorTests : IAsyncLifetime
{
    private readonly ChTestVm vm = new();
    private FakeCloudHypervisor fake = null!;

    public Task InitializeAsync()
    {
        var files = CloudHypervisorVmFiles.In(vm.Directory);
        var standIn = DetachedProcess.Start("sleep", ["infinity"], vm.PathOf("hypervisor.log"), vm.Directory);
        fake = new FakeCloudHypervisor(files.ApiSocket, files.EventMonitor, standIn, new FakeCloudHypervisorOptions());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await fake.DisposeAsync();
        vm.Dispose();
    }

    [Theory]
    [InlineData("GET /api/v1/vm.resize-everything HTTP/1.1\r\nHost: localhost\r\n\r\n", "404 Not Found", "[\"Not Found\"]")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "404 Not Found", "[\"Not Found\"]")]
    [InlineData("GET /api/v1/vm.boot HTTP/1.1\r\nHost: localhost\r\n\r\n", "400 Bad Request", "[\"Bad Request\"]")]
    [InlineData("PUT /api/v1/vm.boot HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}", "400 Bad Request", "[\"Bad Request\"]")]
    [InlineData("PUT /api/v1/vm.create HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}", "400 Bad Request", "[\"Failed to deserialize JSON\",\"missing field `payload`\"]")]
    public async Task RequestsOutsideTheApiAreAnsweredLikeCloudHypervisor(string request, string status, string body)
    {
        var response = await SendRawAsync(request);

        Assert.StartsWith($"HTTP/1.1 {status}\r\n", response);
        Assert.Contains("Content-Type: application/json\r\n", response);
        Assert.EndsWith("\r\n\r\n" + body, response);
    }

    [Fact]
    public async Task SuccessWithoutDataIsA204WithoutBody()
    {
        var response = await SendRawAsync("PUT /api/v1/vm.delete HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 204 No Content\r\n", response);
        Assert.EndsWith("\r\n\r\n", response);
        Assert.DoesNotContain("Content-Length", response);
    }

    private async Task<string> SendRawAsync(string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(CloudHypervisorVmFiles.In(vm.Directory).ApiSocket));
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Replace("Host: localhost\r\n", "Host: localhost\r\nConnection: close\r\n")));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }
}
