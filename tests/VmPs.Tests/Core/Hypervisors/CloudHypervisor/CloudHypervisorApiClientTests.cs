using System.Net;
using VmPs.Core;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>The REST client against the fake VMM directly: every call, its success shape and CH's error arrays.</summary>
public sealed class CloudHypervisorApiClientTests : IAsyncLifetime
{
    private readonly ChTestVm vm = new();
    private FakeCloudHypervisor fake = null!;
    private CloudHypervisorApiClient api = null!;

    public Task InitializeAsync()
    {
        var files = CloudHypervisorVmFiles.In(vm.Directory);
        var standIn = DetachedProcess.Start("sleep", ["infinity"], vm.PathOf("hypervisor.log"), vm.Directory);
        fake = new FakeCloudHypervisor(files.ApiSocket, files.EventMonitor, standIn, new FakeCloudHypervisorOptions());
        api = new CloudHypervisorApiClient(files.ApiSocket);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        api.Dispose();
        await fake.DisposeAsync();
        vm.Dispose();
    }

    [Fact]
    public async Task PingReportsTheVmmVersionAndPid()
    {
        var pong = await api.PingAsync(CancellationToken.None);

        Assert.Equal("53.0.0", pong.Version);
        Assert.Equal(fake.Process.Pid, pong.Pid);
    }

    [Fact]
    public async Task VmGoesThroughItsLifecycle()
    {
        await api.CreateVmAsync(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CancellationToken.None);
        Assert.Equal(CloudHypervisorVmState.Created, (await api.GetVmInfoAsync(CancellationToken.None)).State);

        await api.BootVmAsync(CancellationToken.None);
        var info = await api.GetVmInfoAsync(CancellationToken.None);
        Assert.Equal(CloudHypervisorVmState.Running, info.State);
        Assert.Equal(512L * 1024 * 1024, info.MemoryActualSize);
        Assert.Equal(vm.PathOf("vsock.sock"), info.Config.Vsock!.Socket);

        await api.PauseVmAsync(CancellationToken.None);
        Assert.Equal(CloudHypervisorVmState.Paused, (await api.GetVmInfoAsync(CancellationToken.None)).State);
        await api.ResumeVmAsync(CancellationToken.None);
        await api.RebootVmAsync(CancellationToken.None);
        Assert.Equal(CloudHypervisorVmState.Running, (await api.GetVmInfoAsync(CancellationToken.None)).State);

        var counters = await api.GetVmCountersAsync(CancellationToken.None);
        Assert.Equal(["_disk0", "_disk1", "_disk2"], counters.Keys.Order());
        Assert.Equal(0, counters["_disk0"]["read_bytes"]);

        // CH drops the VM instance on shutdown; what is left is the configuration, reported as Created.
        await api.ShutdownVmAsync(CancellationToken.None);
        Assert.Equal(CloudHypervisorVmState.Created, (await api.GetVmInfoAsync(CancellationToken.None)).State);

        await api.DeleteVmAsync(CancellationToken.None);
        var gone = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.GetVmInfoAsync(CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(VmPsErrorKind.ObjectNotFound, gone.Kind);
        Assert.Equal(["Error from API", "The VM info is not available", "VM is not created"], gone.Messages);
    }

    [Fact]
    public async Task ValidationErrorIsABadRequestWithCloudHypervisorsWords()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec()) with { Vsock = new VsockConfig(2, vm.PathOf("vsock.sock")) };

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.CreateVmAsync(config, CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(CloudHypervisorApiException.RequestFailedErrorId, error.ErrorId);
        Assert.Equal(["Failed to deserialize JSON", "vsock.cid: 2 is below the minimum 3"], error.Messages);
        Assert.Equal("Cloud Hypervisor refused vm.create (400 BadRequest): Failed to deserialize JSON: vsock.cid: 2 is below the minimum 3", error.Message);
    }

    [Fact]
    public async Task WrongStateIsAServerErrorWithTheTransition()
    {
        await api.CreateVmAsync(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CancellationToken.None);
        await api.BootVmAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.ResumeVmAsync(CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(VmPsErrorKind.InvalidOperation, error.Kind);
        Assert.Equal(["Error from API", "The VM could not resume", "invalid VM state transition: Running to Running"], error.Messages);
    }

    [Fact]
    public async Task SecondCreateIsRefused()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec());
        await api.CreateVmAsync(config, CancellationToken.None);

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.CreateVmAsync(config, CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Contains("VM is already created", error.Message);
    }

    [Fact]
    public async Task DiskWithADuplicateIdIsAConflict()
    {
        await api.CreateVmAsync(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CancellationToken.None);
        Assert.Null(await api.AddDiskAsync(new DiskConfig { Path = vm.PathOf("cold.img"), Id = "scratch" }, CancellationToken.None));
        await api.BootVmAsync(CancellationToken.None);

        var hotplugged = await api.AddDiskAsync(new DiskConfig { Path = vm.PathOf("hot.img"), Id = "hot" }, CancellationToken.None);
        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(
            () => api.AddDiskAsync(new DiskConfig { Path = vm.PathOf("again.img"), Id = "scratch" }, CancellationToken.None));

        Assert.Equal("hot", hotplugged!.Id);
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Equal(VmPsErrorKind.ResourceExists, error.Kind);
        Assert.Equal(["Error from API", "The disk could not be added", "Identifier scratch is not unique"], error.Messages);
    }

    [Fact]
    public async Task VmmShutdownEndsTheProcessAndLaterCallsAreUnreachable()
    {
        await api.ShutdownVmmAsync(CancellationToken.None);
        await fake.Exited;

        var error = await Assert.ThrowsAsync<VmPsException>(() => api.PingAsync(CancellationToken.None));

        Assert.False(ProcessProbe.IsRunning(fake.Process));
        Assert.Equal(CloudHypervisorApiClient.UnreachableErrorId, error.ErrorId);
        Assert.Equal(VmPsErrorKind.ConnectionError, error.Kind);
    }

    [Theory]
    [InlineData("[\"Error from API\",\"The VM could not boot\"]", new[] { "Error from API", "The VM could not boot" })]
    [InlineData("", new string[0])]
    [InlineData("upstream proxy error", new[] { "upstream proxy error" })]
    public void ErrorBodiesThatAreNotStringArraysArePassedOnVerbatim(string body, string[] expected)
    {
        Assert.Equal(expected, CloudHypervisorApiClient.ParseErrorMessages(body));
    }
}
