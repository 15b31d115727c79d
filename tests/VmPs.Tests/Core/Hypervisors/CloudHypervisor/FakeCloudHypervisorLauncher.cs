using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Starts a <see cref="FakeCloudHypervisor"/> where the driver would start cloud-hypervisor. The
/// process the driver tracks, probes and may SIGKILL is a real detached stand-in ("sleep infinity").
/// </summary>
internal sealed class FakeCloudHypervisorLauncher : ICloudHypervisorLauncher, IAsyncDisposable
{
    private readonly FakeCloudHypervisorOptions options;
    private readonly List<FakeCloudHypervisor> started = [];

    public FakeCloudHypervisorLauncher(FakeCloudHypervisorOptions? options = null)
    {
        this.options = options ?? new FakeCloudHypervisorOptions();
    }

    public CloudHypervisorLaunch? LastLaunch { get; private set; }

    /// <summary>How many VMMs were started.</summary>
    public int Launches => started.Count;

    /// <summary>The fake VMM of the last launch.</summary>
    public FakeCloudHypervisor Vmm => started.LastOrDefault() ?? throw new InvalidOperationException("Nothing was launched.");

    public ProcessIdentity Start(CloudHypervisorLaunch launch)
    {
        LastLaunch = launch;
        var standIn = DetachedProcess.Start("sleep", ["infinity"], launch.LogPath, launch.WorkingDirectory, launch.PidFile);
        started.Add(new FakeCloudHypervisor(launch.Files.ApiSocket, launch.Files.EventMonitor, standIn, options));
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var vmm in started)
        {
            await vmm.DisposeAsync().ConfigureAwait(false);
        }
    }
}
