using VmPs.Core.Access;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Volumes;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Metadata;

namespace VmPs.Core.Vms;

/// <summary>
/// Start-Vm: claims the VM (Stopped/Crashed/Saved -> Starting, atomically), plugs its network adapter,
/// prepares the initrd and config disk, launches the hypervisor (inside the network namespace) or, for a
/// Saved VM, restores its verified saved state,
/// records it, and waits for the agent. Any failure rolls back.
/// </summary>
internal sealed class VmBoot
{
    /// <summary>ttyS0 and panic handling come from the driver; quiet keeps the slow emulated serial console short.</summary>
    private const string KernelArguments = "quiet";

    /// <summary>Crash points (see CrashPoint): the VM claimed and its TAP plugged; the hypervisor answering; the hypervisor recorded.</summary>
    public const string CrashAfterPlug = "Start-Vm: claimed, adapter plugged";
    public const string CrashAfterLaunch = "Start-Vm: hypervisor launched";
    public const string CrashAfterRecord = "Start-Vm: hypervisor recorded";

    /// <summary>The VM's own disk is the launch spec's second disk, after the root filesystem.</summary>
    public const int OverlayDiskIndex = 1;

    private readonly long logFileMaxBytes;
    private readonly VmPsPaths paths;
    private readonly VmStore vms;
    private readonly ImageStore images;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;
    private readonly VmNetworking networking;
    private readonly VolumeManager volumes;

    public VmBoot(VmPsPaths paths, VmStore vms, ImageStore images, VmReconciler reconciler, HostContext host, VmNetworking networking, VolumeManager volumes, long logFileMaxBytes)
    {
        this.logFileMaxBytes = logFileMaxBytes;
        this.volumes = volumes;
        this.networking = networking;
        this.paths = paths;
        this.vms = vms;
        this.images = images;
        this.reconciler = reconciler;
        this.host = host;
    }

    public async Task<VmRecord> StartAsync(VmRecord vm, VmStartOptions options, IProgress<VmProgress>? progress, CancellationToken cancellationToken)
    {
        var session = ProcessProbe.Current();
        VmRecord before = vm;
        VmRecord claimed;
        using (await FileLock.AcquireAsync(reconciler.Files(vm).DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
        {
            claimed = await vms.UpdateAsync(
                vm.Id,
                current =>
                {
                    if (current.State.IsActive())
                    {
                        throw VmErrors.AlreadyRunning(current.Name, current.State);
                    }

                    before = current;
                    return current.Claimed(session);
                },
                cancellationToken,
                (connection, transaction, next) => QuotaEnforcement.EnsureAsync(
                    connection, transaction, next.OwnerId, new QuotaDemand(Cpus: next.Cpus, MemoryMiB: next.MemoryMiB), cancellationToken)).ConfigureAwait(false)
                ?? throw VmErrors.NotFound(vm.Name);
        }

        var files = reconciler.Files(claimed);
        var restoring = before.State == VmState.Saved && !options.DiscardSavedState;
        if (!restoring)
        {
            // Start-Vm -Force, or a state a crash or an older save left behind: a cold boot makes it stale.
            VmDirectorySweep.DeleteDirectory(files.SavedState);
        }

        IHypervisorDriver? driver = null;
        HypervisorInstance? instance = null;
        var verifying = Task.CompletedTask;
        try
        {
            Report(progress, vm, "Preparing the boot files", 10);
            driver = await host.DriverAsync(claimed, cancellationToken).ConfigureAwait(false);
            if (restoring)
            {
                driver.Capabilities.Require(HypervisorFeatures.Snapshot, vm.Name);
            }

            var adapter = await networking.PlugAsync(claimed.Id, cancellationToken).ConfigureAwait(false);
            var spec = await PrepareAsync(claimed, driver, adapter, cancellationToken).ConfigureAwait(false);
            GuestIdentity? identity = null;
            InstanceMetadata? metadata = null;
            string? withoutAgent = null;
            if (restoring)
            {
                Report(progress, vm, "Checking the saved state", 20);
                var manifest = await VmSavedState.CheckAsync(vm.Name, files.SavedState, claimed.Hypervisor, spec, cancellationToken).ConfigureAwait(false);
                // Hashing the files (a RAM file holds all the guest's memory) takes about as long as the hypervisor takes
                // to start, and it loads them only after: both run at once.
                verifying = Task.Run(() => VmSavedState.VerifyFilesAsync(vm.Name, files.SavedState, manifest, cancellationToken), cancellationToken);
                var saved = VmSavedState.LaunchSpecOf(manifest);
                identity = IdentityOf(claimed, adapter, saved);
                spec = VmSavedState.OnSavedMachine(spec, saved);
                metadata = GuestConfigFactory.Metadata(claimed, adapter, await VmUserData.ReadAsync(files, cancellationToken).ConfigureAwait(false));
            }
            CrashPoint.Reach(CrashAfterPlug);

            await WriteLaunchSpecAsync(files.LaunchSpec, spec, cancellationToken).ConfigureAwait(false);

            Report(progress, vm, restoring ? "Restoring the saved state" : "Launching the hypervisor", 40);
            var launching = driver;
            instance = await networking.LaunchAsync(
                () => restoring ? launching.RestoreAsync(spec, files.SavedState, verifying, cancellationToken) : launching.LaunchAsync(spec, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            var launched = instance;
            CrashPoint.Reach(CrashAfterLaunch);
            await UpdateWhileOursAsync(claimed, current => current with { Instance = launched, StartedAt = DateTimeOffset.UtcNow }, cancellationToken)
                .ConfigureAwait(false);
            CrashPoint.Reach(CrashAfterRecord);

            if (identity is not null && metadata is not null)
            {
                Report(progress, vm, "Giving the guest its identity", 60);
                await RestoreIdentityAsync(launched, identity, metadata, options.Timeout, cancellationToken).ConfigureAwait(false);
            }
            else if (claimed.IsoPath is { } iso)
            {
                // An installer has no VmPs agent, nor does a blank disk: there is nothing to wait for.
                withoutAgent = DiskImageAgent.InstallerDetail(iso);
            }
            else if (options.WaitForAgent && spec.Firmware is not null)
            {
                Report(progress, vm, "Waiting for cloud-init to start the guest agent", 60);
                withoutAgent = await DiskImageAgent.WaitAsync(launched, files.ConsoleLog, options.Timeout, cancellationToken).ConfigureAwait(false);
            }
            else if (options.WaitForAgent)
            {
                Report(progress, vm, "Waiting for the guest agent", 60);
                // The connection is closed at once: a virtio-serial channel carries one client at a time.
                await using var agent = await AgentReadiness.WaitAsync(
                    AgentConnectors.For(launched.Agent),
                    options.Timeout,
                    () => ProcessProbe.IsRunning(launched.Process),
                    cancellationToken).ConfigureAwait(false);
            }

            // The guest runs on from the saved state and changes its disk: the state can never be restored again.
            VmDirectorySweep.DeleteDirectory(files.SavedState);
            var running = await UpdateWhileOursAsync(claimed, current => current with { State = VmState.Running, Session = null, StatusDetail = withoutAgent }, cancellationToken)
                .ConfigureAwait(false);
            Report(progress, vm, "Running", 100);
            return running ?? throw VmErrors.NotFound(vm.Name);
        }
        catch (Exception failure)
        {
            // Its error is the failure's, or moot, but it must not read the state's files on while they are rolled back.
            await verifying.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (instance is not null)
            {
                // A restored guest that ran has changed its disk since the save.
                VmDirectorySweep.DeleteDirectory(files.SavedState);
            }

            var recorded = await RollBackAsync(claimed, before, driver, instance, cancelled: failure is OperationCanceledException).ConfigureAwait(false);
            if (instance is null || failure is OperationCanceledException)
            {
                throw;
            }

            throw WithConsole(failure, recorded);
        }
    }

    /// <summary>
    /// A restored guest runs on from memory saved by this VM or, for a fork, by another: its clock stood still, its
    /// RNG state is the saved one, and a fork still has the other VM's hostname, machine-id, MAC, address and instance
    /// metadata. The agent (up already: it ran when the state was saved) sets all of them before anyone else talks to
    /// it, whatever -NoWait says, so two forks never run a moment with one identity.
    /// </summary>
    private static async Task RestoreIdentityAsync(
        HypervisorInstance launched, GuestIdentity identity, InstanceMetadata metadata, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var agent = await AgentReadiness.WaitAsync(
            AgentConnectors.For(launched.Agent),
            timeout,
            () => ProcessProbe.IsRunning(launched.Process),
            cancellationToken).ConfigureAwait(false);
        await agent.SyncClockAsync(cancellationToken).ConfigureAwait(false);
        await agent.ApplyIdentityAsync(identity, cancellationToken).ConfigureAwait(false);
        try
        {
            await agent.ApplyMetadataAsync(metadata, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.GuestOperationNotSupported)
        {
            // A guest whose metadata service did not start (its init log says why) serves nothing to correct.
        }
    }

    private static GuestIdentity IdentityOf(VmRecord vm, NetworkAdapterInfo? adapter, VmLaunchSpec saved) => new(
        vm.Name,
        GuestConfigFactory.MachineId(vm),
        adapter is null ? null : GuestConfigFactory.Network(adapter),
        saved.NetworkInterfaces.FirstOrDefault()?.MacAddress);

    /// <summary>What the hypervisor was launched with, for Save-Vm to seal into the saved state's manifest.</summary>
    internal static async Task WriteLaunchSpecAsync(string path, VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        File.Delete(path);
        await using var output = PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write);
        await output.WriteAsync(System.Text.Encoding.UTF8.GetBytes(VmSavedState.Describe(spec)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<VmLaunchSpec> PrepareAsync(VmRecord vm, IHypervisorDriver driver, NetworkAdapterInfo? adapter, CancellationToken cancellationToken)
    {
        var image = await images.FindByIdAsync(vm.ImageId, cancellationToken).ConfigureAwait(false)
            ?? throw VmErrors.ImageMissing(vm.Name, vm.ImageName, "the image is no longer in the store");
        if (!File.Exists(image.RootfsPath))
        {
            throw VmErrors.ImageMissing(vm.Name, image.Name, $"its root filesystem '{image.RootfsPath}' is missing");
        }

        var files = reconciler.Files(vm);
        // Each boot starts fresh console and app logs, so their tails and markers describe this boot only.
        foreach (var log in new[] { files.ConsoleLog, files.AppLog })
        {
            File.Delete(log);
            File.Delete(RotatingLogFile.RotatedPath(log));
        }

        var common = new VmLaunchSpec
        {
            VmName = vm.Name,
            VmDirectory = files.Directory,
            Cpus = vm.Cpus,
            MemoryMiB = vm.MemoryMiB,
            MaxCpus = VmValidation.MaxCpus,
            MaxMemoryMiB = (int)Math.Min(int.MaxValue, VmValidation.ReadHostMemoryMiB()),
            Disks = [],
            ConsoleLogPath = files.ConsoleLog,
            HypervisorLogPath = files.HypervisorLog,
            LogFileMaxBytes = logFileMaxBytes,
            VsockCid = vm.VsockCid,
            NetworkInterfaces = adapter is null ? [] : [new NetworkInterfaceSpec(adapter.Tap, adapter.MacAddress, adapter.Mtu)],
        };
        if (image.Kind == ImageKind.Disk)
        {
            return await DiskImageBoot.LaunchSpecAsync(
                common, vm, image, files, adapter, await host.ReportAsync(cancellationToken).ConfigureAwait(false),
                driver.Capabilities.Supports(HypervisorFeatures.Vsock), cancellationToken).ConfigureAwait(false);
        }

        var kernel = await ResolveKernelAsync(vm.KernelPath, cancellationToken).ConfigureAwait(false);
        var initrd = await new InitrdBuilder(paths).BuildAsync(GuestBinary.Locate(), kernel, cancellationToken).ConfigureAwait(false);
        var attached = await volumes.ForBootAsync(vm.Id, cancellationToken).ConfigureAwait(false);
        if (vm.DiskFormat == DiskImageFormat.Qcow2 || attached.Any(pair => pair.Volume.DiskFormat == DiskImageFormat.Qcow2))
        {
            driver.Capabilities.Require(HypervisorFeatures.Qcow2Disks, vm.Name);
        }

        var shares = await vms.SharesAsync(vm.Id, cancellationToken).ConfigureAwait(false);
        if (shares.Count > 0)
        {
            driver.Capabilities.Require(HypervisorFeatures.VirtioFs, vm.Name);
        }

        var userData = await VmUserData.ReadAsync(files, cancellationToken).ConfigureAwait(false);
        var config = GuestConfigFactory.Create(vm, image, driver.Capabilities.Supports(HypervisorFeatures.Vsock), adapter, userData) with
        {
            Volumes = attached.Select(pair => pair.Volume.GuestVolume(pair.Attachment)).ToList(),
            Shares = shares.Select(share => new GuestShareConfig { Tag = share.Tag, Path = share.GuestPath, ReadOnly = share.ReadOnly }).ToList(),
        };
        await GuestConfigFactory.WriteDiskAsync(files.ConfigDisk, config, cancellationToken).ConfigureAwait(false);
        return common with
        {
            KernelPath = kernel.Path,
            VmlinuxPath = kernel.VmlinuxPath,
            InitrdPath = initrd,
            KernelArguments = KernelArguments,
            Disks =
            [
                new DiskSpec(image.RootfsPath, ReadOnly: true, config.Disks.Rootfs),
                new DiskSpec(files.Disk(vm.DiskFileName), ReadOnly: false, config.Disks.Overlay, vm.DiskFormat),
                new DiskSpec(files.ConfigDisk, ReadOnly: true, DiskSerials.Config),
                .. attached.Select(pair => pair.Volume.Disk(pair.Attachment)),
            ],
            AppLogPath = files.AppLog,
            Shares = shares,
        };
    }

    private static async Task<KernelInfo> ResolveKernelAsync(string kernelPath, CancellationToken cancellationToken) =>
        File.Exists(kernelPath)
            ? await KernelLocator.ResolveAsync(kernelPath, cancellationToken).ConfigureAwait(false)
            : throw VmErrors.KernelNotFound(kernelPath);

    /// <summary>
    /// Kills what was launched, unplugs the network adapter and records the outcome: the state from
    /// before the claim when nothing booted, Stopped when the user cancelled the start, else Crashed
    /// (or Stopped when the guest powered off) with the console tail.
    /// </summary>
    private async Task<VmRecord?> RollBackAsync(VmRecord claimed, VmRecord before, IHypervisorDriver? driver, HypervisorInstance? instance, bool cancelled)
    {
        if (instance is not null)
        {
            await driver!.KillAsync(instance, CancellationToken.None).ConfigureAwait(false);
        }

        await networking.UnplugAsync(claimed.Id, CancellationToken.None).ConfigureAwait(false);
        var files = reconciler.Files(claimed);
        files.DeleteRuntimeFiles();
        var outcome = instance is null
            ? before with { Instance = null, Session = null }
            : cancelled
                ? claimed.Stopped(exitCode: null, detail: "The start was cancelled.")
                : claimed.Ended(GuestExit.Read(files, claimed.Hypervisor), "The VM failed to start.");
        return await UpdateWhileOursAsync(claimed, _ => outcome, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes the row only while it is still this start's claim: a Stop-Vm or Remove-Vm -Force from
    /// another session meanwhile wins, and its outcome is kept.
    /// </summary>
    private Task<VmRecord?> UpdateWhileOursAsync(VmRecord claimed, Func<VmRecord, VmRecord> change, CancellationToken cancellationToken) =>
        vms.UpdateAsync(
            claimed.Id,
            current => current.State == VmState.Starting && current.Session == claimed.Session ? change(current) : current,
            cancellationToken);

    private static VmPsException WithConsole(Exception failure, VmRecord? recorded)
    {
        var detail = recorded?.StatusDetail is { } text ? $"{Environment.NewLine}{text}" : "";
        return failure is VmPsException known
            ? new VmPsException(known.ErrorId, known.Kind, known.Message + detail, known.Target, failure) { RecommendedAction = known.RecommendedAction }
            : new VmPsException(VmPsErrorIds.VmStartFailed, VmPsErrorKind.InvalidOperation, failure.Message + detail, recorded?.Name, failure);
    }

    private static void Report(IProgress<VmProgress>? progress, VmRecord vm, string status, int percent) =>
        progress?.Report(new VmProgress($"Starting VM '{vm.Name}'", status, percent));
}
