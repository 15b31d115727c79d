using VmPs.Core.Access;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Images.Disk;
using VmPs.Core.Images.Oci;
using VmPs.Core.Logs;
using VmPs.Core.Metering;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Shares;
using VmPs.Core.Volumes;
using VmPs.Protocol.Logs;

namespace VmPs.Core.Vms;

/// <summary>
/// The VM lifecycle behind New-Vm, Get-Vm, Start-Vm, Stop-Vm, Remove-Vm and Invoke-VmCommand.
/// All state lives in the state database and the VM directories, so any number of managers (pwsh
/// sessions) can work on the same VMs; hypervisors are detached and outlive the session.
/// </summary>
public sealed class VmManager : IVmManager
{
    private static readonly TimeSpan GuestResizePollInterval = TimeSpan.FromMilliseconds(100);

    private readonly VmManagerSettings settings;
    private readonly VmStore vms;
    private readonly ImageCatalog catalog;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;
    private readonly VmBoot boot;
    private readonly VmShutdown shutdown;
    private readonly VmStandby standby;
    private readonly VmCheckpoints checkpoints;
    private readonly VmNetworking networking;
    private readonly VolumeManager volumes;
    private readonly VmDisks disks;
    private readonly VmDirectorySweep sweep;
    private readonly VmActivity activity;
    private readonly VmMeter meter;
    private readonly VmTemplates templates;
    private readonly BlankDiskImages blanks;

    /// <summary>A manager of its own on <paramref name="paths"/>; cmdlets share the one of their <see cref="VmPsServices"/>.</summary>
    public VmManager(VmPsPaths paths)
        : this(paths, new VmManagerSettings())
    {
    }

    internal VmManager(VmPsPaths paths, VmManagerSettings settings)
        : this(paths, new StateDatabase(paths.StateDatabase), settings, HypervisorRegistry.Default())
    {
    }

    private VmManager(VmPsPaths paths, StateDatabase database, VmManagerSettings settings, HypervisorRegistry hypervisors)
        : this(
            paths,
            database,
            new HostContext(cancellationToken => settings.ProbeHost(paths, cancellationToken), hypervisors, database),
            new Lazy<NetworkManager>(() => new NetworkManager(paths, database, settings.NetworkNamespace ?? NetworkNamespace.FromEnvironment(), null)),
            settings)
    {
    }

    /// <summary>The composition root's manager: the database, host context and network manager are shared with the other managers.</summary>
    internal VmManager(VmPsPaths paths, StateDatabase database, HostContext host, Lazy<NetworkManager> networks, VmManagerSettings settings)
    {
        this.settings = settings;
        this.host = host;
        vms = new VmStore(database);
        var images = new ImageStore(database);
        catalog = new ImageCatalog(paths, images, settings.BusyboxPath);
        blanks = new BlankDiskImages(paths, images);
        networking = new VmNetworking(networks);
        reconciler = new VmReconciler(paths, vms, networking);
        volumes = new VolumeManager(paths, database, vms, reconciler, host);
        disks = new VmDisks(paths, host);
        boot = new VmBoot(paths, vms, images, reconciler, host, networking, volumes, settings.LogFileMaxBytes);
        shutdown = new VmShutdown(vms, reconciler, host, networking);
        standby = new VmStandby(vms, reconciler, host, networking);
        checkpoints = new VmCheckpoints(vms, reconciler, host);
        sweep = new VmDirectorySweep(paths, vms, networking, reconciler, disks);
        activity = new VmActivity(vms);
        meter = new VmMeter(host);
        templates = new VmTemplates(paths, images, vms, reconciler);
    }

    /// <summary>The root filesystem, the overlay and the config disk; volumes come after them.</summary>
    private const int BootDiskCount = 3;

    /// <summary>Crash points (see CrashPoint) of New-Vm and Remove-Vm.</summary>
    public const string CrashAfterOverlay = "New-Vm: overlay disk made";
    public const string CrashAfterInsert = "New-Vm: row stored";
    public const string CrashAfterAttach = "New-Vm: adapter and volumes attached";
    public const string CrashAfterRelease = "Remove-Vm: adapter released";
    public const string CrashAfterDelete = "Remove-Vm: row deleted";

    /// <summary>
    /// Validates the settings, resolves the image (building the default busybox image on first
    /// use), creates the VM directory and overlay disk, then stores the VM with its allocations and,
    /// with <see cref="VmCreateOptions.Network"/>, its network adapter and published ports.
    /// On any failure nothing is left behind, and a session killed midway leaves a marker by which the
    /// next VM command removes what it made (<see cref="VmDirectorySweep"/>).
    /// </summary>
    public async Task<VmInfo> CreateAsync(VmCreateOptions options, CancellationToken cancellationToken)
    {
        await sweep.SweepAbandonedCreationsAsync(cancellationToken).ConfigureAwait(false);
        await sweep.SweepOrphanedDirectoriesAsync(cancellationToken).ConfigureAwait(false);
        var (kernelPath, hypervisor, machine) = await CheckCreateAsync(options, cancellationToken).ConfigureAwait(false);
        var attachments = options.Volumes.Select(volume => volume with { Path = VolumeValidation.ValidateMountPath(volume.Path) }).ToList();
        var image = options.IsoPath is null
            ? await catalog.ResolveAsync(options.Image, cancellationToken).ConfigureAwait(false)
            : await blanks.ResolveAsync(options.Firmware ?? ImageFirmware.Uefi, cancellationToken).ConfigureAwait(false);
        var pool = await disks.PoolForNewAsync(options, image.Kind, cancellationToken).ConfigureAwait(false);
        var disk = image.Kind == ImageKind.Disk
            ? DiskImageBoot.SystemDisk(onThinPool: pool is not null)
            : (Format: options.DiskFormat, File: VmFiles.OverlayDiskName(options.DiskFormat));
        var vm = new NewVm(
            Guid.NewGuid(), options.Name, image.Id, options.Cpus, options.MemoryMiB, hypervisor, kernelPath, options.DiskSizeGiB, DateTimeOffset.UtcNow, options.InitMode, options.Owner,
            machine, disk.Format, image.Kind == ImageKind.Disk ? disk.File : null, ShareValidation.Validate(options.Shares, attachments.Select(volume => volume.Path)),
            options.MetadataHttpTokens, options.IsoPath is null ? null : Path.GetFullPath(options.IsoPath));
        var userData = VmUserData.Check(options, image.Kind);
        return await CreateVmAsync(
            vm,
            async (files, token) =>
            {
                if (image.Kind == ImageKind.Disk)
                {
                    await disks.CreateSystemDiskAsync(pool, files, vm.Id, disk.File, image, options.DiskSizeGiB, token).ConfigureAwait(false);
                }
                else
                {
                    await disks.CreateOverlayAsync(pool, files, vm.Id, disk.File, options.DiskFormat, options.DiskSizeGiB, settings.MkfsExt4, token).ConfigureAwait(false);
                }

                await userData.WriteAsync(files, token).ConfigureAwait(false);
            },
            attachments,
            options.Network,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// New-Vm -FromCheckpoint: a new VM with the source VM's image, hardware and network (an address of its own), whose
    /// disk is the checkpoint's (copy-on-write where the file system allows) and which, for a checkpoint with memory,
    /// is Saved in the checkpoint's state: Start-Vm resumes the checkpoint's guest and the agent then gives it the
    /// fork's own hostname, machine-id, MAC, address, RNG seed and clock (see VmBoot). On failure nothing is left.
    /// </summary>
    public async Task<VmInfo> ForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken)
    {
        await sweep.SweepAbandonedCreationsAsync(cancellationToken).ConfigureAwait(false);
        var source = await GetRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        var (network, saved) = await CheckForkAsync(source, checkpointName, name, cancellationToken).ConfigureAwait(false);
        var disk = checkpoints.ForkDisk(source, checkpointName);
        // A checkpoint of a VM with shares holds its disk only (VmErrors.SharesNotSavable): the fork boots with the same shares.
        var shares = (await vms.SharesAsync(source.Id, cancellationToken).ConfigureAwait(false)).Select(ShareOptionsOf).ToList();
        var vm = new NewVm(Guid.NewGuid(), name, source.ImageId, source.Cpus, source.MemoryMiB, source.Hypervisor, source.KernelPath, source.DiskSizeGiB, DateTimeOffset.UtcNow, source.InitMode, source.Owner, source.MachineType,
            disk.Format, disk.File, shares, source.MetadataHttpTokens);
        var created = await CreateVmAsync(
            vm,
            (files, token) => checkpoints.CopyToForkAsync(source, checkpointName, files, disk.File, token),
            [],
            network,
            cancellationToken).ConfigureAwait(false);
        if (saved is null)
        {
            return created;
        }

        var fork = await vms.UpdateAsync(created.Id, current => current.Saved(), cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(name);
        return await ToInfoAsync(fork, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every check <see cref="ForkAsync"/> makes before it allocates anything (New-Vm -FromCheckpoint -WhatIf).</summary>
    public async Task ValidateForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken)
    {
        var source = await GetRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        await CheckForkAsync(source, checkpointName, name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copy-Vm: a fork of the VM as it is now. A checkpoint is taken (a running VM stands still meanwhile and then
    /// runs on), the fork is made from it, and the checkpoint is removed; the fork keeps the files it shares with it.
    /// </summary>
    public async Task<VmInfo> CopyAsync(string vmName, string name, CancellationToken cancellationToken)
    {
        var source = await GetRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        disks.RefuseCheckpoint(source, reconciler.Files(source.Id));
        await CheckNewNameAsync(name, cancellationToken).ConfigureAwait(false);
        var checkpoint = await checkpoints.CreateAsync(source, $"copy-{Guid.NewGuid():N}", cancellationToken).ConfigureAwait(false);
        try
        {
            return await ForkAsync(source.Name, checkpoint.Name, name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await checkpoints.RemoveAsync(await GetRecordAsync(source.Name, CancellationToken.None).ConfigureAwait(false), checkpoint.Name, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Every check <see cref="CopyAsync"/> makes before it changes anything (Copy-Vm -WhatIf).</summary>
    public async Task ValidateCopyAsync(string vmName, string name, CancellationToken cancellationToken)
    {
        await GetRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        await CheckNewNameAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private async Task CheckNewNameAsync(string name, CancellationToken cancellationToken)
    {
        VmValidation.ValidateName(name);
        if (await vms.FindByNameAsync(name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw VmStore.NameInUse(existing.Name);
        }
    }

    /// <summary>The fork's network (the source's, an address of its own) and the checkpoint's saved launch settings, null for a disk-only one.</summary>
    private async Task<(VmNetworkOptions? Network, VmLaunchSpec? Saved)> CheckForkAsync(VmRecord source, string checkpointName, string name, CancellationToken cancellationToken)
    {
        await CheckNewNameAsync(name, cancellationToken).ConfigureAwait(false);
        var saved = await checkpoints.ForkableLaunchSpecAsync(source, checkpointName, cancellationToken).ConfigureAwait(false);
        var adapter = await networking.AdapterAsync(source.Id, cancellationToken).ConfigureAwait(false);
        var network = adapter is null ? null : new VmNetworkOptions { Network = adapter.Network, MaxBandwidthMbps = adapter.MaxBandwidthMbps };
        if (saved is null)
        {
            return (network, null);
        }

        // The saved devices must all be there again, each the fork's own (the driver's restore makes them the fork's).
        if (saved.Disks.Count > BootDiskCount)
        {
            throw VmErrors.CannotFork(source.Name, checkpointName, "it had volumes attached, which a fork cannot share");
        }

        if (saved.NetworkInterfaces.Count > 0 && network is null)
        {
            throw VmErrors.CannotFork(source.Name, checkpointName, "it had a network adapter, and the VM has none now");
        }

        return (saved.NetworkInterfaces.Count > 0 ? network : null, saved);
    }

    /// <summary>
    /// Creates the VM directory and, through <paramref name="makeOverlay"/>, its disk, then stores the VM with its
    /// allocations, volumes and network adapter. On any failure nothing is left behind, and a session killed midway
    /// leaves a marker by which the next VM command removes what it made (<see cref="VmDirectorySweep"/>).
    /// </summary>
    private async Task<VmInfo> CreateVmAsync(
        NewVm newVm,
        Func<VmFiles, CancellationToken, Task> makeOverlay,
        IReadOnlyList<VolumeAttachOptions> attachments,
        VmNetworkOptions? network,
        CancellationToken cancellationToken)
    {
        var files = reconciler.Files(newVm.Id);
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(files.Directory)!);
        PidFile.Write(files.CreatingMarker, ProcessProbe.Current());
        try
        {
            PrivateFiles.CreateDirectory(files.Directory);
            await makeOverlay(files, cancellationToken).ConfigureAwait(false);
            CrashPoint.Reach(CrashAfterOverlay);
            var vm = await vms.InsertAsync(newVm, cancellationToken).ConfigureAwait(false);
            CrashPoint.Reach(CrashAfterInsert);
            foreach (var attachment in attachments)
            {
                await volumes.AttachAsync(vm.Id, attachment, cancellationToken).ConfigureAwait(false);
            }

            var adapter = await networking.AttachAsync(vm.Id, vm.Name, network, cancellationToken).ConfigureAwait(false);
            CrashPoint.Reach(CrashAfterAttach);
            File.Delete(files.CreatingMarker);
            var created = await ToInfoAsync(vm, adapter, cancellationToken).ConfigureAwait(false);
            await settings.VmNamesChanged(cancellationToken).ConfigureAwait(false);
            return created;
        }
        catch
        {
            await sweep.RollBackCreationAsync(newVm.Id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<VmInfo> ResizeDiskAsync(string name, int sizeGiB, CancellationToken cancellationToken)
    {
        VmValidation.ValidateDiskSize(sizeGiB);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        var files = reconciler.Files(vm.Id);
        using (await FileLock.AcquireAsync(files.DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
        {
            // Read again under the lock: Start-Vm claims the VM only while holding it.
            vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
            // A saved VM's memory holds the filesystem as it was: restoring it over a grown disk would corrupt it.
            if (vm.State.IsActive() || vm.State == VmState.Saved)
            {
                throw VmErrors.DiskResizeNeedsStoppedVm(vm.Name, vm.State);
            }

            if (sizeGiB < vm.DiskSizeGiB)
            {
                throw VmErrors.DiskShrinkNotSupported(vm.Name, vm.DiskSizeGiB, sizeGiB);
            }

            // The size is recorded first (the owner's MaxDiskGiB is checked there) and given back if growing fails. The
            // disk grows also when the size is unchanged: a session killed between recording and growing is completed.
            await vms.SetDiskSizeAsync(vm.Id, sizeGiB, cancellationToken).ConfigureAwait(false);
            try
            {
                await disks.GrowAsync(vm, files, sizeGiB, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await vms.SetDiskSizeAsync(vm.Id, vm.DiskSizeGiB, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }

        return await GetAsync(vm.Name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every check <see cref="CreateAsync"/> makes before it allocates anything (New-Vm -WhatIf); nothing is changed.</summary>
    public Task ValidateCreateAsync(VmCreateOptions options, CancellationToken cancellationToken) => CheckCreateAsync(options, cancellationToken);

    public async Task<IReadOnlyList<VmInfo>> GetAllAsync(CancellationToken cancellationToken)
    {
        await sweep.SweepAbandonedCreationsAsync(cancellationToken).ConfigureAwait(false);
        await sweep.SweepOrphanedDirectoriesAsync(cancellationToken).ConfigureAwait(false);
        var all = await vms.GetAllAsync(cancellationToken).ConfigureAwait(false);
        var adapters = await networking.AllAdaptersAsync(cancellationToken).ConfigureAwait(false);
        var shares = await vms.AllSharesAsync(cancellationToken).ConfigureAwait(false);
        var reconciled = new List<(VmRecord, NetworkAdapterInfo?)>(all.Count);
        foreach (var vm in all)
        {
            reconciled.Add((await reconciler.ReconcileAsync(vm, cancellationToken).ConfigureAwait(false), adapters.GetValueOrDefault(vm.Id)));
        }

        var observed = await activity.ObserveNetworkAsync(reconciled, cancellationToken).ConfigureAwait(false);
        var allocated = await disks.AllocatedBytesAsync(observed, reconciler.Files, cancellationToken).ConfigureAwait(false);
        return [.. observed.Select(vm => ToInfo(vm, adapters.GetValueOrDefault(vm.Id), shares[vm.Id], allocated[vm.Id]))];
    }

    /// <summary>The VM with this name (case-insensitive), or null.</summary>
    public async Task<VmInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await FindRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return vm is null ? null : await ToInfoAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The VM with this name; throws VmNotFound.</summary>
    public async Task<VmInfo> GetAsync(string name, CancellationToken cancellationToken) =>
        await ToInfoAsync(await GetRecordAsync(name, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Measure-Vm: what the running or paused VM has used. Throws VmNotFound, or VmNotRunning for a VM in another state.</summary>
    public async Task<VmMeasurement> MeasureAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await meter.MeasureAsync(vm, await networking.AdapterAsync(vm.Id, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The network adapter of the VM with this name (Get-VmNetworkAdapter), or null when it has none. Throws VmNotFound.</summary>
    public async Task<NetworkAdapterInfo?> GetNetworkAdapterAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await networking.AdapterAsync(vm.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The volumes VMs attach (the same manager Start-Vm finds their disks with).</summary>
    public VolumeManager Volumes => volumes;

    /// <summary>The networks the VMs' adapters are on (the same manager Start-Vm plugs TAPs with).</summary>
    public NetworkManager Networks => networking.Networks;

    /// <summary>
    /// Repair-VmNetwork: brings the network back to its records (see <see cref="NetworkManager.RepairAsync"/>),
    /// unplugging the adapters of its VMs that are not running and leaving those of active VMs alone.
    /// With <paramref name="dryRun"/>, only says what it would do. Errors: NetworkNotFound.
    /// </summary>
    public async Task<NetworkRepairResult> RepairNetworkAsync(string network, bool dryRun, CancellationToken cancellationToken)
    {
        var active = new HashSet<Guid>();
        foreach (var vm in await vms.GetAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if ((await reconciler.ReconcileAsync(vm, cancellationToken).ConfigureAwait(false)).State.IsActive())
            {
                active.Add(vm.Id);
            }
        }

        return await Networks.RepairAsync(network, active, dryRun, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Boots a Stopped or Crashed VM, or restores a Saved one, and unless told otherwise waits until its agent answers. On
    /// failure the hypervisor is killed and the VM recorded Crashed (or Stopped when the guest
    /// powered off), and the error carries the console tail.
    /// </summary>
    public async Task<VmInfo> StartAsync(string name, VmStartOptions options, IProgress<VmProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await boot.StartAsync(vm, options, progress, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Shuts the guest down (forced: without waiting on its programs), killing the hypervisor after the timeout; TurnOff kills at once.</summary>
    public async Task<VmInfo> StopAsync(string name, VmStopOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await shutdown.StopAsync(vm, options, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Restart-Vm: shuts a running or paused VM down as <see cref="StopAsync"/> does and boots it afresh as
    /// <see cref="StartAsync"/> does (a new hypervisor; what was in memory is gone). Any other state is VmNotRunning.
    /// </summary>
    public async Task<VmInfo> RestartAsync(string name, VmStopOptions stopOptions, VmStartOptions startOptions, IProgress<VmProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stopOptions);
        ArgumentNullException.ThrowIfNull(startOptions);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        VmStateRules.RequireRunningOrPaused(vm.Name, vm.State);
        var stopped = await shutdown.StopAsync(vm, stopOptions, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await boot.StartAsync(stopped, startOptions, progress, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Suspend-Vm: stops the vCPUs of a running VM (State Paused); a paused VM stays as it is.</summary>
    public async Task<VmInfo> SuspendAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await standby.SuspendAsync(vm, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Resume-Vm: continues a paused VM's vCPUs and sets its clock.</summary>
    public async Task<VmInfo> ResumeAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await standby.ResumeAsync(vm, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Save-Vm: writes a running or paused VM's memory and device state to its directory and ends the hypervisor (State Saved).</summary>
    public async Task<VmInfo> SaveAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(await standby.SaveAsync(vm, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes a stopped VM's CPUs and memory (the next boot uses them); a VM that is not stopped is refused. The check
    /// and the write are one transaction, so a VM started meanwhile is refused too.
    /// </summary>
    public async Task<VmInfo> SetAsync(string name, VmSetOptions options, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        if (options.Cpus is not null || options.MemoryMiB is not null)
        {
            vm = await ResizeAsync(vm, options, dryRun, cancellationToken).ConfigureAwait(false);
        }

        if (options.MetadataHttpTokens is { } tokens)
        {
            vm = await SetMetadataHttpTokensAsync(vm, tokens, dryRun, cancellationToken).ConfigureAwait(false);
        }

        if (options.ChangeIsoPath)
        {
            vm = await SetIsoPathAsync(vm, options.IsoPath, dryRun, cancellationToken).ConfigureAwait(false);
        }

        return await ToInfoAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Set-Vm -IsoPath: puts another ISO into a stopped VM's CD-ROM drive, or empties it (null) so that the VM boots
    /// its disk, as Hyper-V's Set-VMDvdDrive -Path does; the next start uses it. Only a VM that boots through firmware
    /// has the drive, and only while it is off (Stopped or Crashed; a saved state restores with the drive it had).
    /// </summary>
    private async Task<VmRecord> SetIsoPathAsync(VmRecord vm, string? isoPath, bool dryRun, CancellationToken cancellationToken)
    {
        if (vm.ImageKind != ImageKind.Disk)
        {
            throw VmErrors.IsoPathNeedsDiskImage(vm.Name, vm.ImageName);
        }

        EnsureIsoChangeable(vm);
        var path = isoPath is null ? null : Path.GetFullPath(isoPath);
        if (path is not null)
        {
            InstallerIso.Check(path, vm.Name);
            (await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false)).Capabilities.Require(HypervisorFeatures.CdRom, vm.Name);
        }

        if (dryRun || vm.IsoPath == path)
        {
            return vm;
        }

        return await vms.UpdateAsync(
            vm.Id,
            current =>
            {
                EnsureIsoChangeable(current);
                return current with { IsoPath = path };
            },
            cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);
    }

    private static void EnsureIsoChangeable(VmRecord vm)
    {
        if (vm.State is not (VmState.Stopped or VmState.Crashed))
        {
            throw VmErrors.IsoChangeNeedsStop(vm.Name, vm.State);
        }
    }

    private async Task<VmRecord> ResizeAsync(VmRecord vm, VmSetOptions options, bool dryRun, CancellationToken cancellationToken)
    {
        var hostMemoryMiB = VmValidation.ReadHostMemoryMiB();
        VmValidation.ValidateResources(options.Cpus ?? vm.Cpus, options.MemoryMiB ?? vm.MemoryMiB, hostMemoryMiB);
        if (vm.State == VmState.Running && vm.Instance is { } instance)
        {
            return await ResizeRunningAsync(vm, instance, options, dryRun, cancellationToken).ConfigureAwait(false);
        }

        EnsureResizable(vm);
        if (dryRun)
        {
            return vm;
        }

        return await vms.UpdateAsync(
            vm.Id,
            current =>
            {
                EnsureResizable(current);
                return current with { Cpus = options.Cpus ?? current.Cpus, MemoryMiB = options.MemoryMiB ?? current.MemoryMiB };
            },
            cancellationToken,
            (connection, transaction, next) => QuotaEnforcement.EnsureFitsAloneAsync(
                connection, transaction, next.OwnerId, new QuotaDemand(Cpus: next.Cpus, MemoryMiB: next.MemoryMiB), cancellationToken)).ConfigureAwait(false)
            ?? throw VmErrors.NotFound(vm.Name);
    }

    /// <summary>
    /// Set-Vm -MetadataOptions: recorded for the VM's next start (a Saved VM's restore applies it too) and, on a running
    /// VM, handed to its metadata service at once; if the agent refuses, the record is given back. A paused VM is
    /// refused: its agent cannot answer until Resume-Vm.
    /// </summary>
    private async Task<VmRecord> SetMetadataHttpTokensAsync(VmRecord vm, MetadataHttpTokens tokens, bool dryRun, CancellationToken cancellationToken)
    {
        if (vm.State is VmState.Paused or VmState.Starting or VmState.Stopping)
        {
            throw VmErrors.NotReachable(vm.Name, vm.State);
        }

        if (dryRun || vm.MetadataHttpTokens == tokens)
        {
            return vm;
        }

        var updated = await vms.UpdateAsync(
            vm.Id,
            current => current.State is VmState.Paused or VmState.Starting or VmState.Stopping
                ? throw VmErrors.NotReachable(current.Name, current.State)
                : current with { MetadataHttpTokens = tokens },
            cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);
        if (updated.State != VmState.Running)
        {
            return updated;
        }

        try
        {
            var adapter = await networking.AdapterAsync(updated.Id, cancellationToken).ConfigureAwait(false);
            var metadata = GuestConfigFactory.Metadata(updated, adapter, await VmUserData.ReadAsync(reconciler.Files(updated), cancellationToken).ConfigureAwait(false));
            await using var agent = await SharedAgentConnections.AcquireAsync(updated, lockTimeout: null, cancellationToken).ConfigureAwait(false);
            await agent.Client.ApplyMetadataAsync(metadata, cancellationToken).ConfigureAwait(false);
            return updated;
        }
        catch
        {
            await vms.UpdateAsync(vm.Id, current => current with { MetadataHttpTokens = vm.MetadataHttpTokens }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Set-Vm on a running VM: the hypervisor hot-plugs (or unplugs) vCPUs and adds memory in whole blocks where its
    /// driver can; otherwise, or to take memory away, the VM must be stopped first. The new sizes are recorded (with the
    /// owner's quota checked) before the hypervisor is asked, and given back when it refuses.
    /// </summary>
    private async Task<VmRecord> ResizeRunningAsync(VmRecord vm, HypervisorInstance instance, VmSetOptions options, bool dryRun, CancellationToken cancellationToken)
    {
        var cpus = options.Cpus is { } wantedCpus && wantedCpus != vm.Cpus ? wantedCpus : (int?)null;
        var memoryMiB = options.MemoryMiB is { } wantedMemory && wantedMemory != vm.MemoryMiB ? wantedMemory : (int?)null;
        var needed = (cpus is null ? HypervisorFeatures.None : HypervisorFeatures.CpuResize) | (memoryMiB is null ? HypervisorFeatures.None : HypervisorFeatures.MemoryResize);
        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        if (!driver.Capabilities.Supports(needed))
        {
            throw VmErrors.HotResizeUnsupported(vm.Name, driver.Capabilities.Driver, needed & ~driver.Capabilities.Features);
        }

        if (memoryMiB is { } memory)
        {
            const int block = Hypervisors.CloudHypervisor.CloudHypervisorVmConfigBuilder.HotplugBlockMiB;
            if (memory < vm.MemoryMiB && !driver.Capabilities.Supports(HypervisorFeatures.MemoryUnplug))
            {
                throw VmErrors.MemoryShrinkNeedsStop(vm.Name, vm.MemoryMiB, memory);
            }

            if (Math.Abs(memory - vm.MemoryMiB) % block != 0)
            {
                throw VmErrors.MemoryHotplugStep(vm.Name, vm.MemoryMiB, memory, block);
            }
        }

        if (dryRun || needed == HypervisorFeatures.None)
        {
            return vm;
        }

        var claimed = await vms.UpdateAsync(
            vm.Id,
            current => current.State == VmState.Running && current.Instance == instance
                ? current with { Cpus = cpus ?? current.Cpus, MemoryMiB = memoryMiB ?? current.MemoryMiB }
                : throw VmErrors.ResizeNeedsStop(current.Name, current.State),
            cancellationToken,
            (connection, transaction, next) => QuotaEnforcement.EnsureFitsAloneAsync(
                connection, transaction, next.OwnerId, new QuotaDemand(Cpus: next.Cpus, MemoryMiB: next.MemoryMiB), cancellationToken)).ConfigureAwait(false)
            ?? throw VmErrors.NotFound(vm.Name);
        long? guestMemoryBefore = null;
        if (memoryMiB is not null)
        {
            await VmStandby.TryWithAgentAsync(instance.Agent, async (agent, token) => guestMemoryBefore = (await agent.PingAsync(token).ConfigureAwait(false)).MemoryTotalBytes, cancellationToken)
                .ConfigureAwait(false);
        }

        try
        {
            await driver.ResizeAsync(instance, cpus, memoryMiB, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await vms.UpdateAsync(vm.Id, current => current with { Cpus = vm.Cpus, MemoryMiB = vm.MemoryMiB }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        // Save-Vm seals the launch settings into the saved state, and Start-Vm restores it only onto the same hardware.
        var launched = reconciler.Files(vm).LaunchSpec;
        if (File.Exists(launched))
        {
            var spec = VmSavedState.ParseLaunchSpec(await File.ReadAllTextAsync(launched, CancellationToken.None).ConfigureAwait(false));
            await VmBoot.WriteLaunchSpecAsync(
                launched,
                spec with { Cpus = claimed.Cpus, MemoryMiB = claimed.MemoryMiB, BootMemoryMiB = spec.BootMemoryMiB ?? spec.MemoryMiB },
                CancellationToken.None).ConfigureAwait(false);
        }

        if (cpus is { } added && added > vm.Cpus)
        {
            // Hot-added vCPUs come up offline in the guest until something writes their online files, and appear there
            // only once the guest has handled the hypervisor's notice, which may be after the plug returned.
            await UntilGuestSeesAsync(instance.Agent, async (agent, token) => await agent.OnlineCpusAsync(token).ConfigureAwait(false) >= added, cancellationToken)
                .ConfigureAwait(false);
        }

        if (memoryMiB is { } memoryNow && guestMemoryBefore is { } before)
        {
            // The guest adds a plugged block to its memory (and takes an unplugged one out) a moment after the hypervisor says so.
            var expected = before + ((long)(memoryNow - vm.MemoryMiB) << 20);
            await UntilGuestSeesAsync(
                instance.Agent,
                async (agent, token) => (await agent.PingAsync(token).ConfigureAwait(false)).MemoryTotalBytes is { } total && (memoryNow > vm.MemoryMiB ? total >= expected : total <= expected),
                cancellationToken).ConfigureAwait(false);
        }

        return claimed;
    }

    /// <summary>Asks the agent until <paramref name="seen"/> holds, within the agent's limit; a guest without one goes without.</summary>
    private static Task UntilGuestSeesAsync(AgentEndpoint endpoint, Func<AgentClient, CancellationToken, Task<bool>> seen, CancellationToken cancellationToken) =>
        VmStandby.TryWithAgentAsync(
            endpoint,
            async (agent, token) =>
            {
                while (!await seen(agent, token).ConfigureAwait(false))
                {
                    await Task.Delay(GuestResizePollInterval, token).ConfigureAwait(false);
                }
            },
            cancellationToken);

    /// <summary>Checkpoint-Vm: a named checkpoint of the VM's disk and, while it runs (or is paused or saved), its memory.</summary>
    public async Task<VmCheckpointInfo> CheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        disks.RefuseCheckpoint(vm, reconciler.Files(vm.Id));
        return await checkpoints.CreateAsync(vm, checkpointName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Get-VmCheckpoint: the VM's checkpoints, oldest first.</summary>
    public async Task<IReadOnlyList<VmCheckpointInfo>> GetCheckpointsAsync(string name, CancellationToken cancellationToken) =>
        checkpoints.List(await GetRecordAsync(name, cancellationToken).ConfigureAwait(false));

    /// <summary>Restore-VmCheckpoint: the VM (turned off first when it runs) gets the checkpoint's disk and, with memory, becomes Saved in its state.</summary>
    public async Task<VmInfo> RestoreCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        var restored = await checkpoints.RestoreAsync(
            vm,
            checkpointName,
            running => shutdown.StopAsync(running, new VmStopOptions { Method = VmStopMethod.TurnOff }, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return await ToInfoAsync(restored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Remove-VmCheckpoint: deletes the checkpoint's files.</summary>
    public async Task RemoveCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken) =>
        await checkpoints.RemoveAsync(await GetRecordAsync(name, cancellationToken).ConfigureAwait(false), checkpointName, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Deletes the VM, its network adapter (TAP, rules, address), its directory (with its checkpoints and saved state) and its row. A running VM
    /// is refused unless <paramref name="force"/>, which stops it first.
    /// </summary>
    public async Task RemoveAsync(string name, bool force, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        if (vm.State.IsActive())
        {
            if (!force)
            {
                throw VmErrors.Running(vm.Name, vm.State);
            }

            vm = await shutdown.StopAsync(vm, new VmStopOptions { Method = VmStopMethod.TurnOff }, cancellationToken).ConfigureAwait(false);
        }

        await disks.RemoveThinVolumesAsync(reconciler.Files(vm.Id), vm.Id, cancellationToken).ConfigureAwait(false);
        await networking.ReleaseAsync(vm.Id, cancellationToken).ConfigureAwait(false);
        CrashPoint.Reach(CrashAfterRelease);
        var removed = await vms.DeleteAsync(
            vm.Id,
            current =>
            {
                if (current.State.IsActive())
                {
                    throw VmErrors.Running(current.Name, current.State);
                }
            },
            cancellationToken).ConfigureAwait(false);
        if (removed)
        {
            CrashPoint.Reach(CrashAfterDelete);
            VmDirectorySweep.DeleteDirectory(reconciler.Files(vm.Id).Directory);
            await settings.VmNamesChanged(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a command in a running VM to completion: writes <see cref="VmExecOptions.StandardInput"/>, closes stdin,
    /// and returns the exit code with the whole stdout and stderr. A non-zero exit code is a result, not an error.
    /// </summary>
    public async Task<VmCommandResult> ExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken)
    {
        await using var execution = await StartExecAsync(name, options, cancellationToken).ConfigureAwait(false);
        return await execution.RunToEndAsync(options.StandardInput, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a command in a running VM and returns once the guest runs it, for callers that stream its stdin and
    /// output. The caller disposes the execution, which kills the command if it still runs.
    /// Throws VmNotFound, VmNotRunning, EmptyCommand, or the agent's error when the guest cannot start it.
    /// </summary>
    public async Task<VmExecution> StartExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Command.Count == 0)
        {
            throw new VmPsException(VmPsErrorIds.EmptyCommand, VmPsErrorKind.InvalidArgument, "A command is required.", name);
        }

        if (options.MaxOutputBytes <= 0)
        {
            throw new VmPsException(VmPsErrorIds.InvalidMaxOutputBytes, VmPsErrorKind.InvalidArgument, $"MaxOutputBytes must be positive; got {options.MaxOutputBytes}.", options.MaxOutputBytes);
        }

        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        if (vm.State != VmState.Running || vm.Instance is null)
        {
            throw VmErrors.NotReachable(vm.Name, vm.State);
        }

        await activity.RecordAsync(vm, cancellationToken).ConfigureAwait(false);
        var connection = await SharedAgentConnections.AcquireAsync(vm, options.Timeout, cancellationToken).ConfigureAwait(false);
        try
        {
            var request = new AgentExecRequest(options.Command)
            {
                Environment = options.Environment,
                WorkingDirectory = options.WorkingDirectory,
                User = options.User,
                Timeout = options.Timeout,
                MaxOutputBytes = options.MaxOutputBytes,
                VmName = vm.Name,
            };
            var execution = await connection.Client.StartExecAsync(request, cancellationToken).ConfigureAwait(false);
            return new VmExecution(vm.Name, connection, execution);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens a connection to a running VM's agent, for callers that stream (exec with stdin, TTY, file copy).
    /// The caller disposes it. Throws VmNotFound or VmNotRunning.
    /// </summary>
    public async Task<AgentClient> ConnectAgentAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        await activity.RecordAsync(vm, cancellationToken).ConfigureAwait(false);
        return await ConnectAgentAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<AgentClient> ConnectAgentAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        if (vm.State != VmState.Running || vm.Instance is null)
        {
            throw VmErrors.NotReachable(vm.Name, vm.State);
        }

        return await AgentClient.ConnectAsync(AgentConnectors.For(vm.Instance.Agent), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// New-VmImage -FromVm: the stopped disk image VM's disk, flattened, as a new disk image. Throws VmNotFound,
    /// ImageFromVmUnsupported (an OCI image VM), ImageFromVmNeedsStoppedVm, or the import's errors; a failure leaves no image.
    /// </summary>
    public Task<ImageInfo> CreateImageFromVmAsync(string vmName, string imageName, bool force, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken) =>
        templates.CreateAsync(vmName, imageName, force, progress, cancellationToken);

    /// <summary>
    /// Attaches to a running VM's serial console (Enter-Vm -Console). The caller disposes the session. Throws VmNotFound,
    /// VmNotRunning, HypervisorFeatureNotSupported, or SerialConsoleInUse while another session is attached.
    /// </summary>
    public async Task<SerialConsoleSession> AttachConsoleAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        if (vm.State != VmState.Running || vm.Instance is not { } instance)
        {
            throw VmErrors.NotReachable(vm.Name, vm.State);
        }

        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        driver.Capabilities.Require(HypervisorFeatures.SerialConsole, vm.Name);
        await activity.RecordAsync(vm, cancellationToken).ConfigureAwait(false);
        var consoleLock = FileLock.TryAcquire(reconciler.Files(vm).ConsoleLock) ?? throw VmErrors.ConsoleInUse(vm.Name);
        try
        {
            return new SerialConsoleSession(await driver.ConnectConsoleAsync(instance, cancellationToken).ConfigureAwait(false), consoleLock);
        }
        catch
        {
            consoleLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A VM's log as lines (for <see cref="VmLogSource.Init"/>, the JSON of each init record), the last
    /// <see cref="VmLogOptions.Tail"/> of them; with <see cref="VmLogOptions.Follow"/>, then the lines the running
    /// VM adds, until it stops or <paramref name="cancellationToken"/> is cancelled. Throws VmNotFound.
    /// </summary>
    public async IAsyncEnumerable<string> GetLogAsync(
        string name,
        VmLogSource source,
        VmLogOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        VmLogs.Validate(options);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        await foreach (var line in VmLogs.LinesAsync(reconciler.Files(vm), source, options, IsActiveProbe(vm), cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    /// <summary>The structured init log of the VM's last boot, read like <see cref="GetLogAsync"/>.</summary>
    public async IAsyncEnumerable<InitLogRecord> GetInitLogAsync(
        string name,
        VmLogOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        VmLogs.Validate(options);
        var vm = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        await foreach (var record in VmLogs.InitRecordsAsync(reconciler.Files(vm), options, IsActiveProbe(vm), cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    /// <summary>Whether the VM is still up (Starting, Running, Stopping); a removed VM is not.</summary>
    private Func<CancellationToken, Task<bool>> IsActiveProbe(VmRecord vm) => async cancellationToken =>
    {
        var current = await vms.FindByIdAsync(vm.Id, cancellationToken).ConfigureAwait(false);
        return current is not null && (await reconciler.ReconcileAsync(current, cancellationToken).ConfigureAwait(false)).State.IsActive();
    };

    /// <summary>
    /// Validates New-Vm's options against the host and the state; returns the kernel, hypervisor and QEMU machine the
    /// VM will use (a disk image's VM boots its own kernel: none).
    /// </summary>
    private async Task<(string KernelPath, HypervisorKind Hypervisor, QemuMachine? Machine)> CheckCreateAsync(VmCreateOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        VmValidation.ValidateCreate(options, VmValidation.ReadHostMemoryMiB());
        foreach (var volume in options.Volumes)
        {
            VolumeValidation.ValidateName(volume.Volume);
            VolumeValidation.ValidateMountPath(volume.Path);
        }

        foreach (var volume in options.Volumes)
        {
            await volumes.GetAsync(volume.Volume, cancellationToken).ConfigureAwait(false);
        }

        ShareValidation.Validate(options.Shares, options.Volumes.Select(volume => volume.Path));
        var shareNeeds = options.Shares.Count > 0 ? HypervisorFeatures.VirtioFs : HypervisorFeatures.None;
        if (await vms.FindByNameAsync(options.Name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw VmStore.NameInUse(existing.Name);
        }

        var requested = options.MachineType is null ? options.Hypervisor : VmValidation.HypervisorOfMachine(options.Hypervisor);
        if (options.IsoPath is not null)
        {
            var firmware = CheckIsoInstall(options);
            // A user's image under the blank disk's name is refused now rather than after the disk is made.
            await blanks.FindAsync(firmware, cancellationToken).ConfigureAwait(false);
            return await CheckDiskBootAsync(options, requested, shareNeeds, BlankDiskImages.NameOf(firmware), firmware, BlankDiskImages.BaseBytes, cancellationToken)
                .ConfigureAwait(false);
        }

        if (options.Firmware is not null)
        {
            throw VmErrors.FirmwareNeedsIsoPath(options.Name);
        }

        await catalog.ValidateAsync(options.Image, cancellationToken).ConfigureAwait(false);
        var stored = await catalog.FindStoredAsync(options.Image, cancellationToken).ConfigureAwait(false);
        if (stored is { Kind: ImageKind.Disk } diskImage)
        {
            return await CheckDiskBootAsync(
                options, requested, shareNeeds, diskImage.Name, DiskImageBoot.FirmwareOf(diskImage), diskImage.VirtualSizeBytes, cancellationToken).ConfigureAwait(false);
        }

        VmUserData.Check(options, ImageKind.Oci);
        await disks.PoolForNewAsync(options, ImageKind.Oci, cancellationToken).ConfigureAwait(false);

        var kernelPath = await DefaultKernelPathAsync(options.KernelPath, cancellationToken).ConfigureAwait(false);
        var needs = shareNeeds | (options.DiskFormat == DiskImageFormat.Qcow2 ? HypervisorFeatures.Qcow2Disks : HypervisorFeatures.None);
        var hypervisor = (await host.SelectAsync(requested, needs, options.MachineType, cancellationToken).ConfigureAwait(false)).Kind;
        if (options.DiskFormat == DiskImageFormat.Qcow2)
        {
            HostTools.Require(HostToolCatalog.QemuImg);
        }

        await networking.ValidateAsync(options.Network, cancellationToken).ConfigureAwait(false);
        return (kernelPath, hypervisor, options.MachineType);
    }

    /// <summary>New-Vm's checks for a VM booting a disk image through firmware (an imported one, or an ISO install's blank disk).</summary>
    private async Task<(string KernelPath, HypervisorKind Hypervisor, QemuMachine? Machine)> CheckDiskBootAsync(
        VmCreateOptions options, HypervisorKind? requested, HypervisorFeatures shareNeeds, string imageName, ImageFirmware firmware, long? imageBytes, CancellationToken cancellationToken)
    {
        VmUserData.Check(options, ImageKind.Disk);
        await disks.PoolForNewAsync(options, ImageKind.Disk, cancellationToken).ConfigureAwait(false);
        var (machine, required) = DiskImageBoot.CheckCreate(options, imageName, firmware, imageBytes);
        HostTools.Require(HostToolCatalog.Xorriso);
        var driver = await host.SelectAsync(requested, required | shareNeeds, machine, cancellationToken).ConfigureAwait(false);
        FirmwareCatalog.Require(await host.ReportAsync(cancellationToken).ConfigureAwait(false), driver.Kind, firmware, options.Name);
        await networking.ValidateAsync(options.Network, cancellationToken).ConfigureAwait(false);
        return ("", driver.Kind, driver.Kind == HypervisorKind.Qemu ? machine : null);
    }

    /// <summary>An ISO install takes no image (its disk is the blank one of its firmware) and an ISO 9660 file; returns the firmware.</summary>
    private static ImageFirmware CheckIsoInstall(VmCreateOptions options)
    {
        if (!string.IsNullOrEmpty(options.Image))
        {
            throw VmErrors.IsoPathWithImage(options.Name, options.Image);
        }

        InstallerIso.Check(Path.GetFullPath(options.IsoPath!), options.Name);
        return options.Firmware ?? ImageFirmware.Uefi;
    }

    private async Task<string> DefaultKernelPathAsync(string? requested, CancellationToken cancellationToken)
    {
        if (requested is not null)
        {
            // Refuses what is no kernel (New-Vm -Kernel /etc/passwd) now rather than at every Start-Vm.
            return (await KernelLocator.ResolveAsync(requested, cancellationToken).ConfigureAwait(false)).Path;
        }

        var report = await host.ReportAsync(cancellationToken).ConfigureAwait(false);
        return report.DefaultKernel?.Path ?? throw VmErrors.KernelNotFound(null);
    }

    private static void EnsureResizable(VmRecord vm)
    {
        if (vm.State == VmState.Saved)
        {
            throw VmErrors.ResizeNeedsSavedStateGone(vm.Name);
        }

        if (vm.State is not (VmState.Stopped or VmState.Crashed))
        {
            throw VmErrors.ResizeNeedsStop(vm.Name, vm.State);
        }
    }

    private async Task<VmRecord?> FindRecordAsync(string name, CancellationToken cancellationToken)
    {
        await sweep.SweepAbandonedCreationsAsync(cancellationToken).ConfigureAwait(false);
        var vm = await vms.FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
        return vm is null ? null : await reconciler.ReconcileAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    private async Task<VmRecord> GetRecordAsync(string name, CancellationToken cancellationToken) =>
        await FindRecordAsync(name, cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(name);

    private async Task<VmInfo> ToInfoAsync(VmRecord vm, CancellationToken cancellationToken) =>
        await ToInfoAsync(vm, await networking.AdapterAsync(vm.Id, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    private async Task<VmInfo> ToInfoAsync(VmRecord vm, NetworkAdapterInfo? adapter, CancellationToken cancellationToken)
    {
        var observed = await activity.ObserveNetworkAsync([(vm, adapter)], cancellationToken).ConfigureAwait(false);
        var allocated = await disks.AllocatedBytesAsync(observed, reconciler.Files, cancellationToken).ConfigureAwait(false);
        return ToInfo(observed[0], adapter, await vms.SharesAsync(vm.Id, cancellationToken).ConfigureAwait(false), allocated[vm.Id]);
    }

    private static ShareOptions ShareOptionsOf(ShareSpec share) => new(share.HostPath, share.GuestPath, share.ReadOnly);

    private VmInfo ToInfo(VmRecord vm, NetworkAdapterInfo? adapter, IEnumerable<ShareSpec> shares, long diskAllocatedBytes) => new()
    {
        Id = vm.Id,
        Name = vm.Name,
        State = vm.State,
        Image = vm.ImageName,
        Cpus = vm.Cpus,
        MemoryMiB = vm.MemoryMiB,
        Hypervisor = vm.Hypervisor,
        MachineType = vm.MachineType,
        KernelPath = vm.KernelPath,
        VsockCid = vm.VsockCid,
        MacAddress = vm.MacAddress,
        Network = adapter?.Network,
        IPAddress = adapter?.IPAddress,
        NetworkStatus = adapter?.Status,
        Directory = reconciler.Files(vm.Id).Directory,
        CreatedAt = vm.CreatedAt,
        StartedAt = vm.StartedAt,
        StoppedAt = vm.StoppedAt,
        ProcessId = vm.Instance?.Process.Pid,
        ExitCode = vm.ExitCode,
        InitMode = vm.InitMode,
        StatusDetail = vm.StatusDetail,
        Owner = vm.Owner,
        DiskSizeGiB = vm.DiskSizeGiB,
        DiskAllocatedBytes = diskAllocatedBytes,
        DiskFormat = vm.DiskFormat,
        Shares = [.. shares.Select(ShareOptionsOf)],
        LastActivityAt = vm.LastActivityAt,
        MetadataHttpTokens = vm.MetadataHttpTokens,
        IsoPath = vm.IsoPath,
    };
}
