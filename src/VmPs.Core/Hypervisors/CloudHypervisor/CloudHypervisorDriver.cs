using System.Text;
using VmPs.Core.Agent;
using VmPs.Core.Logs;
using VmPs.Core.Metering;
using VmPs.Core.Processes;
using VmPs.Core.Shares;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>Timeouts of the steps the driver bounds itself.</summary>
public sealed record CloudHypervisorDriverOptions
{
    /// <summary>How long a freshly started VMM may take to answer vmm.ping.</summary>
    public TimeSpan ApiStartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long each API request of a kill may take before the driver moves on.</summary>
    public TimeSpan KillRequestTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the VMM may take to exit after vmm.shutdown before it gets SIGKILL.</summary>
    public TimeSpan ExitTimeout { get; init; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// Runs each VM in its own detached cloud-hypervisor process, driven over its REST API socket, with
/// the guest agent reachable through hybrid vsock.
/// </summary>
public sealed class CloudHypervisorDriver : IHypervisorDriver
{
    public const string ExitedErrorId = "CloudHypervisorExited";
    public const string ApiTimeoutErrorId = "CloudHypervisorApiTimeout";
    public const string KillFailedErrorId = "CloudHypervisorKillFailed";

    private const int LogTailBytes = 4096;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan SigkillWait = TimeSpan.FromSeconds(5);

    private readonly ICloudHypervisorLauncher launcher;
    private readonly CloudHypervisorDriverOptions options;

    public CloudHypervisorDriver(ICloudHypervisorLauncher? launcher = null, CloudHypervisorDriverOptions? options = null)
    {
        this.launcher = launcher ?? new CloudHypervisorProcessLauncher();
        this.options = options ?? new CloudHypervisorDriverOptions();
    }

    public HypervisorKind Kind => HypervisorKind.CloudHypervisor;

    /// <summary>
    /// What Cloud Hypervisor's API offers: vm.add-disk/-net and vm.remove-device, vm.resize
    /// (vCPUs and RAM), vm.resize-disk, vm.pause/resume, vm.snapshot/restore (with on-demand memory
    /// restore), qcow2 disks, hybrid vsock, PVH direct boot and UEFI through payload.firmware (a
    /// firmware file the host provides). It has no legacy BIOS and no CD-ROM device. virtio-fs: `fs`
    /// devices over shared guest memory, each served by a virtiofsd VmPs starts (see VirtioFsDaemons).
    /// </summary>
    public HypervisorCapabilities Capabilities { get; } = new(
        "Cloud Hypervisor",
        HypervisorFeatures.Vsock | HypervisorFeatures.DiskHotplug | HypervisorFeatures.NicHotplug | HypervisorFeatures.VirtioFs
            | HypervisorFeatures.Qcow2Disks | HypervisorFeatures.DiskResize | HypervisorFeatures.Pause | HypervisorFeatures.Snapshot
            | HypervisorFeatures.LazyRestore | HypervisorFeatures.CpuResize | HypervisorFeatures.MemoryResize | HypervisorFeatures.Uefi
            | HypervisorFeatures.PvhKernel);

    public Task<HypervisorInstance> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken) =>
        StartAsync(spec, async (api, _, token) =>
        {
            await api.CreateVmAsync(CloudHypervisorVmConfigBuilder.Build(spec), token).ConfigureAwait(false);
            await api.BootVmAsync(token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// vm.restore takes every device from the snapshot's config.json, so the VM is restored from a directory of its own
    /// whose config.json names the devices of <paramref name="spec"/> (see <see cref="CloudHypervisorSnapshot"/>): the
    /// same for a saved VM, and another VM's for a fork. Memory is read on demand where CH can, so the memory file is
    /// mapped rather than copied in; the restored VM comes back paused, so it is resumed. The directory goes once CH
    /// has read it (it keeps the memory file open). CH starts while the state is verified, and is asked to restore it
    /// only once it has passed.
    /// </summary>
    public async Task<HypervisorInstance> RestoreAsync(VmLaunchSpec spec, string directory, Task verified, CancellationToken cancellationToken)
    {
        var restore = CloudHypervisorSnapshot.PrepareRestore(spec, directory);
        try
        {
            return await StartAsync(spec, async (api, version, token) =>
            {
                await verified.ConfigureAwait(false);
                await RestoreMemoryAsync(api, restore, version, token).ConfigureAwait(false);
                await api.ResumeVmAsync(token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Vms.VmDirectorySweep.DeleteDirectory(restore);
        }
    }

    /// <summary>
    /// vm.restore with memory on demand from CH v52 on (older versions know only copying); CH does not fall back when
    /// its userfaultfd cannot be had (docs/snapshot_restore.md) and forgets the failed VM, so that case is restored by
    /// copying instead.
    /// </summary>
    private static async Task RestoreMemoryAsync(CloudHypervisorApiClient api, string directory, VmmPingResponse version, CancellationToken cancellationToken)
    {
        if (!SupportsOnDemandRestore(version))
        {
            await api.RestoreVmAsync(directory, memory: null, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await api.RestoreVmAsync(directory, MemoryRestoreMode.OnDemand, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudHypervisorApiException error) when (error.Messages.Contains(OnDemandRestoreFailed))
        {
            await api.RestoreVmAsync(directory, MemoryRestoreMode.Copy, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>CH's error for a restore whose userfaultfd could not be set up (MigratableError::OnDemandRestore).</summary>
    public const string OnDemandRestoreFailed = "On-demand restore failed";

    /// <summary>vmm.ping's version is the crate's ("53.0.0"): memory_restore_mode came with 52.</summary>
    internal static bool SupportsOnDemandRestore(VmmPingResponse ping) =>
        int.TryParse(ping.Version.TrimStart('v').Split('.')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var major)
        && major >= 52;

    public async Task PauseAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        await api.PauseVmAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task ResumeAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        await api.ResumeVmAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// CH snapshots only a paused VM (vm.snapshot answers 500 otherwise), so a running one is paused first. Its
    /// snapshot keeps the memory as a file of its own either way, which vm.restore can map on demand.
    /// </summary>
    public async Task SaveStateAsync(HypervisorInstance instance, string directory, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var info = await api.GetVmInfoAsync(cancellationToken).ConfigureAwait(false);
        if (info.State != CloudHypervisorVmState.Paused)
        {
            await api.PauseVmAsync(cancellationToken).ConfigureAwait(false);
        }

        await api.SnapshotVmAsync(directory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the VMM, waits for its API and hands it the VM (<paramref name="setUp"/>); on failure nothing is left running.</summary>
    private async Task<HypervisorInstance> StartAsync(VmLaunchSpec spec, Func<CloudHypervisorApiClient, VmmPingResponse, CancellationToken, Task> setUp, CancellationToken cancellationToken)
    {
        var files = CloudHypervisorVmFiles.In(spec.VmDirectory);
        spec.CreatePrivateFiles();
        files.DeleteSockets();
        File.Delete(files.EventMonitor);
        File.Delete(files.StopRequest);

        var process = VmLogKeeper.Launch(
            spec,
            output => VirtioFsDaemons.Launch(spec, output, () => launcher.Start(new CloudHypervisorLaunch(files, output, spec.VmDirectory, spec.PidFilePath))));
        try
        {
            using var api = new CloudHypervisorApiClient(files.ApiSocket);
            var version = await WaitForApiAsync(api, process, spec, cancellationToken).ConfigureAwait(false);
            await setUp(api, version, cancellationToken).ConfigureAwait(false);
            spec.RestrictHypervisorFiles();
        }
        catch
        {
            await StopAsync(process, files, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return new HypervisorInstance(
            HypervisorKind.CloudHypervisor,
            process,
            files.ApiSocket,
            AgentEndpoint.Hybrid(files.VsockSocket));
    }

    public async Task PressPowerButtonAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        await api.PressPowerButtonAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task AttachDiskAsync(HypervisorInstance instance, string deviceId, DiskSpec disk, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        await api.AddDiskAsync(CloudHypervisorVmConfigBuilder.Disk(disk, deviceId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Cloud Hypervisor's API cannot move a disk onto a new file while the VM runs.</summary>
    public Task SnapshotDiskAsync(HypervisorInstance instance, int diskIndex, string path, CancellationToken cancellationToken) =>
        throw Capabilities.NotSupported(HypervisorFeatures.LiveDiskSnapshot, path);

    /// <summary>
    /// CH's serial port is either a file or a socket (serial mode File or Socket), not both: VmPs keeps it a file, so
    /// the console log that Start-Vm and Get-VmLog read stays whole.
    /// </summary>
    public Task<Stream> ConnectConsoleAsync(HypervisorInstance instance, CancellationToken cancellationToken) =>
        throw Capabilities.NotSupported(HypervisorFeatures.SerialConsole, instance.ControlSocketPath);

    public async Task DetachDiskAsync(HypervisorInstance instance, string deviceId, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var info = await api.GetVmInfoAsync(cancellationToken).ConfigureAwait(false);
        if (info.Config.Disks?.Any(disk => disk.Id == deviceId) == true)
        {
            await api.RemoveDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>vm.resize: vCPUs up to the max_vcpus and RAM up to the hotplug_size the VM was created with.</summary>
    public async Task ResizeAsync(HypervisorInstance instance, int? cpus, int? memoryMiB, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        await api.ResizeVmAsync(new VmResize(cpus, memoryMiB * (1L << 20)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<DiskCounters> ReadDiskCountersAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        return DiskCounters.FromCloudHypervisorCounters(await api.GetVmCountersAsync(cancellationToken).ConfigureAwait(false));
    }

    public Task KillAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        var files = CloudHypervisorVmFiles.In(Path.GetDirectoryName(instance.ControlSocketPath)!);
        return StopAsync(instance.Process, files, cancellationToken);
    }

    /// <summary>Waits until the VMM answers vmm.ping, and returns its answer.</summary>
    private async Task<VmmPingResponse> WaitForApiAsync(CloudHypervisorApiClient api, ProcessIdentity process, VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.ApiStartTimeout;
        while (true)
        {
            if (!ProcessProbe.IsRunning(process))
            {
                // The keeper copies the VMM's last words before it ends.
                VmLogKeeper.End(spec.VmDirectory);
                throw new VmPsException(
                    ExitedErrorId,
                    VmPsErrorKind.InvalidOperation,
                    $"cloud-hypervisor exited before its API answered. Its log ({spec.HypervisorLogPath}) ends with:{Environment.NewLine}{ReadLogTail(spec.HypervisorLogPath)}",
                    spec.VmName);
            }

            if (File.Exists(api.SocketPath))
            {
                try
                {
                    return await api.PingAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (VmPsException ex) when (ex.ErrorId == CloudHypervisorApiClient.UnreachableErrorId)
                {
                    // The socket exists before the server accepts on it.
                }
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new VmPsException(
                    ApiTimeoutErrorId,
                    VmPsErrorKind.OperationTimeout,
                    $"cloud-hypervisor did not answer on '{api.SocketPath}' within {options.ApiStartTimeout.TotalSeconds:0.#} s. Its log ends with:{Environment.NewLine}{ReadLogTail(spec.HypervisorLogPath)}",
                    spec.VmName);
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the VMM to stop the VM and exit, then kills what is left; API errors only mean it is already down.</summary>
    private async Task StopAsync(ProcessIdentity process, CloudHypervisorVmFiles files, CancellationToken cancellationToken)
    {
        if (ProcessProbe.IsRunning(process))
        {
            CloudHypervisorEventMonitor.RecordStopRequest(files);
            using var api = new CloudHypervisorApiClient(files.ApiSocket);
            await TryRequestAsync(api.ShutdownVmAsync, cancellationToken).ConfigureAwait(false);
            await TryRequestAsync(api.ShutdownVmmAsync, cancellationToken).ConfigureAwait(false);
            if (!await ProcessProbe.WaitForExitAsync(process, options.ExitTimeout, cancellationToken).ConfigureAwait(false))
            {
                await ProcessProbe.KillAsync(process, SigkillWait, cancellationToken).ConfigureAwait(false);
            }

            if (ProcessProbe.IsRunning(process))
            {
                throw new VmPsException(
                    KillFailedErrorId,
                    VmPsErrorKind.ResourceUnavailable,
                    $"cloud-hypervisor (PID {process.Pid}) is still running after SIGKILL.",
                    process.Pid);
            }
        }

        files.DeleteSockets();
        VirtioFsDaemons.End(Path.GetDirectoryName(files.ApiSocket)!);
        VmLogKeeper.End(Path.GetDirectoryName(files.ApiSocket)!);
    }

    private async Task TryRequestAsync(Func<CancellationToken, Task> request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.KillRequestTimeout);
        try
        {
            await request(timeout.Token).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static string ReadLogTail(string logPath)
    {
        try
        {
            using var log = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = (int)Math.Min(log.Length, LogTailBytes);
            log.Seek(-length, SeekOrigin.End);
            var tail = new byte[length];
            log.ReadExactly(tail);
            var text = Encoding.UTF8.GetString(tail).Trim();
            return text.Length > 0 ? text : "(the log is empty)";
        }
        catch (FileNotFoundException)
        {
            return "(no log was written)";
        }
    }
}
