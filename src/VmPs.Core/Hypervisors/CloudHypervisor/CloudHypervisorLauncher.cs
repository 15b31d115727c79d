using VmPs.Core.Processes;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>What one cloud-hypervisor process is started with; the VM itself comes later over the API.</summary>
public sealed record CloudHypervisorLaunch(CloudHypervisorVmFiles Files, string LogPath, string WorkingDirectory, string PidFile);

/// <summary>Starts the VMM process that serves the API socket (a seam so tests can run a fake VMM).</summary>
public interface ICloudHypervisorLauncher
{
    ProcessIdentity Start(CloudHypervisorLaunch launch);
}

/// <summary>Starts the real cloud-hypervisor binary, detached, so the VM outlives the session that started it.</summary>
public sealed class CloudHypervisorProcessLauncher : ICloudHypervisorLauncher
{
    public const string DefaultExecutable = "cloud-hypervisor";

    public CloudHypervisorProcessLauncher(string executable = DefaultExecutable)
    {
        Executable = executable;
    }

    public string Executable { get; }

    /// <summary>
    /// Without --log-file CH logs to stderr, which DetachedProcess appends to the log file: one file
    /// for the log and for fatal error chains, and nothing truncates what the other wrote.
    /// </summary>
    public static IReadOnlyList<string> BuildArguments(CloudHypervisorLaunch launch) =>
    [
        "--api-socket", $"path={launch.Files.ApiSocket}",
        "--event-monitor", $"path={launch.Files.EventMonitor}",
    ];

    public ProcessIdentity Start(CloudHypervisorLaunch launch) =>
        DetachedProcess.Start(Executable, BuildArguments(launch), launch.LogPath, launch.WorkingDirectory, launch.PidFile);
}
