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

    /// <summary>vm.restore's body as CH's serde and Vmm::vm_restore take it (v53): what each refusal answers, before any snapshot is read.</summary>
    [Theory]
    [InlineData("{\"prefault\":false}", "400 Bad Request", "[\"Failed to deserialize JSON\",\"missing field `source_url`\"]")]
    [InlineData("{\"source_url\":\"file:///nonexistent\",\"memory_restore_mode\":\"ondemand\"}", "400 Bad Request", "[\"Failed to deserialize JSON\",\"unknown variant `ondemand`, expected `Copy` or `OnDemand`\"]")]
    [InlineData("{\"source_url\":\"file:///nonexistent\",\"resume\":\"yes\"}", "400 Bad Request", "[\"Failed to deserialize JSON\",\"invalid type: expected a boolean for `resume`\"]")]
    [InlineData("{\"source_url\":\"file:///nonexistent\",\"net_fds\":[{\"id\":\"net0\",\"num_fds\":2}]}", "400 Bad Request", "[\"Bad Request\"]")]
    [InlineData("{\"source_url\":\"/nonexistent\",\"no_such_member\":1}", "500 Internal Server Error", "[\"Error from API\",\"The VM could not be restored\",\"Cannot restore VM\",\"Failed to send migratable component snapshot\",\"Could not extract path from URL: /nonexistent\"]")]
    public async Task A_restore_request_is_refused_as_cloud_hypervisor_refuses_it(string body, string status, string answer)
    {
        var response = await SendRawAsync(Restore(body));

        Assert.StartsWith($"HTTP/1.1 {status}\r\n", response);
        Assert.EndsWith("\r\n\r\n" + answer, response);
        Assert.Null(fake.VmState);
    }

    [Fact]
    public async Task Prefault_with_memory_on_demand_is_refused_once_the_snapshot_config_is_read_and_resume_runs_the_vm()
    {
        var snapshot = await SnapshotAsync();
        var restoreUrl = CloudHypervisorApiClient.FileUrl(snapshot);
        var standIn = DetachedProcess.Start("sleep", ["infinity"], vm.PathOf("restored.log"), vm.Directory);
        var files = CloudHypervisorVmFiles.In(Directory.CreateDirectory(vm.PathOf("r")).FullName);
        await using var restoring = new FakeCloudHypervisor(files.ApiSocket, files.EventMonitor, standIn, new FakeCloudHypervisorOptions());

        var refused = await SendRawAsync(Restore($"{{\"source_url\":\"{restoreUrl}\",\"prefault\":true,\"memory_restore_mode\":\"OnDemand\"}}"), files.ApiSocket);
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", refused);
        Assert.EndsWith("[\"Error from API\",\"The VM could not be restored\",\"Failed to validate config\",\"'prefault' cannot be combined with 'memory_restore_mode=ondemand'\"]", refused);
        Assert.Null(restoring.VmState);

        var resumed = await SendRawAsync(Restore($"{{\"source_url\":\"{restoreUrl}\",\"memory_restore_mode\":\"OnDemand\",\"resume\":true,\"unknown\":1}}"), files.ApiSocket);
        Assert.StartsWith("HTTP/1.1 204 No Content\r\n", resumed);
        Assert.Equal("Running", restoring.VmState);
        Assert.Equal(("OnDemand", false), (restoring.Restored!.MemoryRestoreMode, restoring.Restored.Prefault));
    }

    /// <summary>A booted, paused VM of this fake snapshotted into a new directory.</summary>
    private async Task<string> SnapshotAsync()
    {
        using var api = new CloudHypervisorApiClient(CloudHypervisorVmFiles.In(vm.Directory).ApiSocket);
        await api.CreateVmAsync(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CancellationToken.None);
        await api.BootVmAsync(CancellationToken.None);
        await api.PauseVmAsync(CancellationToken.None);
        var snapshot = Directory.CreateDirectory(vm.PathOf("snapshot")).FullName;
        await api.SnapshotVmAsync(snapshot, CancellationToken.None);
        await api.ShutdownVmAsync(CancellationToken.None);
        return snapshot;
    }

    private static string Restore(string body) =>
        $"PUT /api/v1/vm.restore HTTP/1.1\r\nHost: localhost\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    private Task<string> SendRawAsync(string request) => SendRawAsync(request, CloudHypervisorVmFiles.In(vm.Directory).ApiSocket);

    private static async Task<string> SendRawAsync(string request, string apiSocket)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(apiSocket));
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Replace("Host: localhost\r\n", "Host: localhost\r\nConnection: close\r\n")));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }
}
