using System.Management.Automation;
using System.Management.Automation.Runspaces;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.Agent;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Ingress;
using VmPs.Core.SshGateway;
using VmPs.Core.Logs;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Commands;
using VmPs.PowerShell.Infrastructure;
using VmPs.Protocol.Logs;

namespace VmPs.Tests.PowerShell.Commands;

/// <summary>
/// A runspace with the module's cmdlets whose services are in-memory fakes: cmdlet logic (name patterns,
/// per-VM errors, ShouldProcess, output types) is tested without a state directory or a hypervisor.
/// </summary>
internal sealed class FakeServices : IVmPsServices, IDisposable
{
    private readonly Runspace runspace;

    public FakeServices()
    {
        var state = InitialSessionState.Create();
        state.LanguageMode = PSLanguageMode.FullLanguage;
        foreach (var type in typeof(GetVmCommand).Assembly.GetTypes().Where(type => type.IsSubclassOf(typeof(PSCmdlet)) && !type.IsAbstract))
        {
            var cmdlet = (CmdletAttribute)Attribute.GetCustomAttribute(type, typeof(CmdletAttribute))!;
            state.Commands.Add(new SessionStateCmdletEntry($"{cmdlet.VerbName}-{cmdlet.NounName}", type, null));
        }

        runspace = RunspaceFactory.CreateRunspace(state);
        runspace.Open();
        ModuleServices.Use(runspace, this);
    }

    public VmPsPaths Paths { get; } = new("/nonexistent/vmps-fake");

    public FakeVmManager FakeVms { get; } = new();

    public FakeImageManager FakeImages { get; } = new();

    public IVmManager Vms => FakeVms;

    public IImageManager Images => FakeImages;

    public INetworkManager Networks => throw new NotSupportedException("No network in these tests.");

    public IVolumeManager Volumes => throw new NotSupportedException("No volumes in these tests.");

    public IUserManager Users => throw new NotSupportedException("No users in these tests.");

    public IIngressManager Ingress { get; } = new UnusedIngress();

    public ISshGatewayManager SshGateway => throw new NotSupportedException("No SSH gateway in these tests.");

    public IHostContext Host => throw new NotSupportedException("No host probe in these tests.");

    public HypervisorRegistry Hypervisors { get; } = HypervisorRegistry.Default();

    /// <summary>Runs one pipeline; its output and its non-terminating errors.</summary>
    public (IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors) Run(string script)
    {
        using var shell = System.Management.Automation.PowerShell.Create(runspace);
        var output = shell.AddScript(script).Invoke();
        return (output, shell.Streams.Error.ToList());
    }

    public void Dispose() => runspace.Dispose();
}

/// <summary>An ingress never started: Remove-Vm's refresh does nothing, and nothing else is used here.</summary>
internal sealed class UnusedIngress : IIngressManager
{
    public Task RefreshAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<VmIngress> CreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmIngress> ValidateCreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<VmIngress>> GetAllAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmIngress> GetAsync(string hostname, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task RemoveAsync(string hostname, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SetDomainAsync(string? domain, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SetAcmeAsync(IngressAcmeSettings acme, CancellationToken cancellationToken) => throw new NotSupportedException();
}

internal sealed class FakeVmManager : IVmManager
{
    private readonly List<VmInfo> vms = [];

    public List<string> Started { get; } = [];

    public void Add(string name, VmState state = VmState.Stopped, string? owner = null, string? ipAddress = null) => vms.Add(new VmInfo
    {
        Id = Guid.NewGuid(),
        Name = name,
        State = state,
        Image = "busybox",
        Cpus = 1,
        MemoryMiB = 256,
        Hypervisor = HypervisorKind.Qemu,
        KernelPath = "/boot/vmlinuz",
        VsockCid = 3,
        MacAddress = "52:54:00:00:00:01",
        Directory = "/nonexistent",
        CreatedAt = DateTimeOffset.UnixEpoch,
        Owner = owner,
        IPAddress = ipAddress,
    });

    public Task<IReadOnlyList<VmInfo>> GetAllAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<VmInfo>>(vms.OrderBy(vm => vm.Name, StringComparer.OrdinalIgnoreCase).ToList());

    public Task<VmInfo?> FindAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(vms.FirstOrDefault(vm => string.Equals(vm.Name, name, StringComparison.OrdinalIgnoreCase)));

    public async Task<VmInfo> GetAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name, cancellationToken) ?? throw VmErrors.NotFound(name);

    public async Task<VmInfo> StartAsync(string name, VmStartOptions options, IProgress<VmProgress>? progress, CancellationToken cancellationToken)
    {
        var vm = await GetAsync(name, cancellationToken);
        if (vm.State == VmState.Running)
        {
            throw VmErrors.AlreadyRunning(vm.Name, vm.State);
        }

        Started.Add(vm.Name);
        return vm with { State = VmState.Running };
    }

    public Task<VmInfo> CreateAsync(VmCreateOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ValidateCreateAsync(VmCreateOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> ForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ValidateForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> CopyAsync(string vmName, string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ValidateCopyAsync(string vmName, string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<NetworkAdapterInfo?> GetNetworkAdapterAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmPs.Core.Metering.VmMeasurement> MeasureAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<NetworkRepairResult> RepairNetworkAsync(string network, bool dryRun, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> StopAsync(string name, VmStopOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> RestartAsync(string name, VmStopOptions stopOptions, VmStartOptions startOptions, IProgress<VmProgress>? progress, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task RemoveAsync(string name, bool force, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> SetAsync(string name, VmSetOptions options, bool dryRun, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> ResizeDiskAsync(string name, int sizeGiB, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> SuspendAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> ResumeAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> SaveAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmCheckpointInfo> CheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<VmCheckpointInfo>> GetCheckpointsAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmInfo> RestoreCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task RemoveCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmCommandResult> ExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmExecution> StartExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<AgentClient> ConnectAgentAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<VmPs.Core.Images.ImageInfo> CreateImageFromVmAsync(string vmName, string imageName, bool force, IProgress<VmPs.Core.Images.Oci.ImagePullProgress>? progress, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<SerialConsoleSession> AttachConsoleAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public IAsyncEnumerable<string> GetLogAsync(string name, VmLogSource source, VmLogOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();

    public IAsyncEnumerable<InitLogRecord> GetInitLogAsync(string name, VmLogOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();
}

internal sealed class FakeImageManager : IImageManager
{
    public List<string> Images { get; } = [];

    public List<string> Removed { get; } = [];

    public Task<IReadOnlyList<ImageInfo>> GetAllAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ImageInfo>>(Images.Select(Image).ToList());

    public Task<ImageInfo?> FindAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(Images.Contains(name) ? Image(name) : null);

    public async Task<ImageInfo> GetAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name, cancellationToken) ?? throw new NotSupportedException();

    public Task RemoveAsync(string name, bool force, CancellationToken cancellationToken)
    {
        Removed.Add(name);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ImageInfo>> GetUnusedAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<ImageCacheItem>> GetCacheItemsAsync(bool allBlobs, CancellationToken cancellationToken) => throw new NotSupportedException();

    public bool RemoveCacheItem(ImageCacheItem item) => throw new NotSupportedException();

    public Task<ImageInfo> AddAsync(IImageSource source, ImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<ImageInfo> AddDiskAsync(DiskImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    private static ImageInfo Image(string name) => new()
    {
        Id = name,
        Name = name,
        Reference = $"example.test/{name}:latest",
        Digest = "sha256:" + new string('0', 64),
        Format = ImageFormat.Erofs,
        RootfsPath = $"/nonexistent/{name}/rootfs.erofs",
        SizeBytes = 1,
        InitMode = ImageInitMode.Exec,
        Config = new ImageConfig(),
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
