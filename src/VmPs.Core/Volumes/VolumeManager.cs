using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;
using VmPs.Core.Vms;

namespace VmPs.Core.Volumes;

/// <summary>
/// Volumes: persistent disks kept apart from VMs, attached to them by name: sparse files, or on the LvmThin storage
/// backend (Set-VmHost) thin volumes, each keeping the backend it was made on. Rows first, files second; removal
/// claims the row, deletes the file or thin volume, and drops the row last, so a failed deletion keeps the volume.
/// A row a killed session left (Creating, or claimed for a copy, resize or removal) and files no row names are
/// repaired by the next volume command that changes something.
/// </summary>
public sealed class VolumeManager : IVolumeManager
{
    private readonly VolumeStore store;
    private readonly VolumeFiles files;
    private readonly VmStore vms;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;

    internal VolumeManager(VmPsPaths paths, StateDatabase database, VmStore vms, VmReconciler reconciler, HostContext host)
    {
        store = new VolumeStore(database);
        files = new VolumeFiles(paths);
        this.vms = vms;
        this.reconciler = reconciler;
        this.host = host;
    }

    internal VolumeStore Store => store;

    public async Task<VolumeInfo> CreateAsync(VolumeCreateOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        VolumeValidation.ValidateName(options.Name);
        VolumeValidation.ValidateSize(options.SizeBytes);
        ValidateSource(options);
        var thin = await ThinStorageForNewAsync(options, cancellationToken).ConfigureAwait(false);
        await RepairAsync(cancellationToken).ConfigureAwait(false);

        var id = Guid.NewGuid();
        var diskFormat = options.Format == VolumeFormat.Qcow2 ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
        var volume = await store.InsertAsync(
            new VolumeRecord
            {
                Id = id,
                Name = options.Name,
                Format = options.Format,
                DiskFormat = diskFormat,
                SizeBytes = options.SizeBytes,
                Path = thin?.Planner.DevicePath(LvmThinPlanner.VolumeName(id)) ?? files.PathFor(id, diskFormat),
                ThinPool = thin?.Planner.Pool,
                State = VolumeState.Creating,
                Session = ProcessProbe.Current(),
                CreatedAt = DateTimeOffset.UtcNow,
                Owner = options.Owner,
            },
            cancellationToken).ConfigureAwait(false);
        try
        {
            if (thin is not null)
            {
                // A failed plan removes the thin volume it made: nothing is left to delete below.
                await thin.CreateVolumeAsync(id, options.SizeBytes, ext4: options.Format == VolumeFormat.Ext4, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                using (await FileLock.AcquireSharedAsync(files.LockPath, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
                {
                    await files.BuildAsync(volume.Path, options, cancellationToken).ConfigureAwait(false);
                }
            }

            var ready = await store.UpdateAsync(id, (current, _) => current with { State = VolumeState.Ready, Session = null }, cancellationToken).ConfigureAwait(false)
                ?? throw VolumeErrors.NotFound(options.Name);
            return ToInfo(ready, [], await AllocatedBytesAsync(ready, new ThinUsage(host.LvmThin.Run), cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            if (thin is null)
            {
                File.Delete(volume.Path);
            }

            await store.DeleteAsync(id, (_, _) => { }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<IReadOnlyList<VolumeInfo>> GetAllAsync(CancellationToken cancellationToken)
    {
        var attachments = await store.AttachmentsAsync(null, cancellationToken).ConfigureAwait(false);
        var thinUsage = new ThinUsage(host.LvmThin.Run);
        var volumes = new List<VolumeInfo>();
        foreach (var volume in (await store.GetAllAsync(cancellationToken).ConfigureAwait(false)).Where(volume => volume.State != VolumeState.Creating))
        {
            volumes.Add(ToInfo(volume, attachments, await AllocatedBytesAsync(volume, thinUsage, cancellationToken).ConfigureAwait(false)));
        }

        return volumes;
    }

    public async Task<VolumeInfo> GetAsync(string name, CancellationToken cancellationToken)
    {
        var volume = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        var allocated = await AllocatedBytesAsync(volume, new ThinUsage(host.LvmThin.Run), cancellationToken).ConfigureAwait(false);
        return ToInfo(volume, await store.AttachmentsAsync(null, cancellationToken).ConfigureAwait(false), allocated);
    }

    public async Task RemoveAsync(string name, bool force, CancellationToken cancellationToken)
    {
        var volume = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        var attachments = (await store.AttachmentsAsync(null, cancellationToken).ConfigureAwait(false)).Where(a => a.VolumeId == volume.Id).ToList();
        if (attachments.Count > 0)
        {
            if (!force)
            {
                throw VolumeErrors.Attached(volume.Name, attachments.Select(attachment => attachment.VmName));
            }

            foreach (var attachment in attachments)
            {
                var vm = await GetVmRecordAsync(attachment.VmName, cancellationToken).ConfigureAwait(false);
                await DetachAsync(vm, volume, attachment, force: true, "remove", cancellationToken).ConfigureAwait(false);
            }
        }

        // The claim keeps other sessions from attaching it while its storage goes; the row goes last, so an lvremove
        // that fails (an open device, a missing pool) leaves the volume listed and usable, not a thin volume no row names.
        var session = ProcessProbe.Current();
        var claimed = await store.UpdateAsync(
            volume.Id,
            (current, attachments) =>
            {
                EnsureIdle(current);
                return attachments.Count > 0
                    ? throw VolumeErrors.Attached(current.Name, attachments.Select(pair => pair.Attachment.VmName))
                    : current with { State = VolumeState.Removing, Session = session };
            },
            cancellationToken).ConfigureAwait(false) ?? throw VolumeErrors.NotFound(name);
        try
        {
            await DeleteStorageAsync(claimed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is VmPsException or IOException or UnauthorizedAccessException)
        {
            await ReleaseClaimAsync(claimed).ConfigureAwait(false);
            throw VolumeErrors.RemoveFailed(claimed.Name, ex);
        }
        catch
        {
            await ReleaseClaimAsync(claimed).ConfigureAwait(false);
            throw;
        }

        await store.DeleteAsync(claimed.Id, (_, _) => { }, CancellationToken.None).ConfigureAwait(false);
        await DeleteUnreferencedBasesAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<VolumeCopyResult> CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        VolumeValidation.ValidateName(destination);
        await RepairAsync(cancellationToken).ConfigureAwait(false);
        var original = await GetRecordAsync(source, cancellationToken).ConfigureAwait(false);
        if (original.ThinPool is not null)
        {
            throw StorageErrors.NotOnLvmThin(original.Name, "Copy-VmVolume");
        }

        var session = ProcessProbe.Current();
        var id = Guid.NewGuid();
        var (claimed, copy) = await store.BeginCopyAsync(
            original.Id,
            (current, attachments) =>
            {
                EnsureIdle(current);
                EnsureNoRunningWriter(current, attachments, "a copy");
                return current with { State = VolumeState.Copying, Session = session };
            },
            claimed => claimed with
            {
                Id = id,
                Name = destination,
                Path = files.PathFor(id, claimed.DiskFormat),
                State = VolumeState.Creating,
                Session = session,
                CreatedAt = DateTimeOffset.UtcNow,
            },
            cancellationToken).ConfigureAwait(false) ?? throw VolumeErrors.NotFound(source);
        try
        {
            using (await FileLock.AcquireSharedAsync(files.LockPath, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
            {
                var (method, ready) = await CopyFileAsync(claimed, copy, cancellationToken).ConfigureAwait(false);
                return new VolumeCopyResult(ToInfo(ready, [], FileAllocation.BytesOf(ready.Path)), method);
            }
        }
        catch
        {
            // Once committed, the copy is the user's, whatever failed after: only a row still being made goes.
            if (await store.AbandonCopyAsync(claimed.Id, id, CancellationToken.None).ConfigureAwait(false))
            {
                File.Delete(copy.Path);
            }

            throw;
        }
    }

    public async Task<VolumeInfo> ResizeAsync(string name, long sizeBytes, CancellationToken cancellationToken)
    {
        VolumeValidation.ValidateSize(sizeBytes);
        await RepairAsync(cancellationToken).ConfigureAwait(false);
        var volume = await GetRecordAsync(name, cancellationToken).ConfigureAwait(false);
        if (sizeBytes < volume.SizeBytes)
        {
            throw VolumeErrors.CannotShrink(volume.Name, volume.SizeBytes, sizeBytes);
        }

        if (sizeBytes == volume.SizeBytes)
        {
            return await GetAsync(name, cancellationToken).ConfigureAwait(false);
        }

        // The claim records the new size, so the owner's MaxDiskGiB is checked in the transaction that takes it; a
        // failed growth gives it back, and the repair of a killed one records the size the file has.
        var session = ProcessProbe.Current();
        var previousSize = 0L;
        var claimed = await store.UpdateAsync(
            volume.Id,
            (current, attachments) =>
            {
                EnsureIdle(current);
                if (attachments.Where(pair => IsActive(pair.VmState)).Select(pair => pair.Attachment).FirstOrDefault() is { } running)
                {
                    throw VolumeErrors.InUseByRunningVm(current.Name, running.VmName, "resizing");
                }

                if (sizeBytes < current.SizeBytes)
                {
                    throw VolumeErrors.CannotShrink(current.Name, current.SizeBytes, sizeBytes);
                }

                previousSize = current.SizeBytes;
                return current with { State = VolumeState.Resizing, Session = session, SizeBytes = sizeBytes };
            },
            cancellationToken).ConfigureAwait(false) ?? throw VolumeErrors.NotFound(name);
        var grown = false;
        try
        {
            if (ThinStorage(claimed) is { } thin)
            {
                await thin.ResizeVolumeAsync(claimed.Id, sizeBytes, growFilesystem: claimed.Format == VolumeFormat.Ext4, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await VolumeFiles.GrowAsync(claimed, sizeBytes, cancellationToken).ConfigureAwait(false);
            }

            grown = true;
        }
        finally
        {
            await store.UpdateAsync(
                claimed.Id,
                (current, _) => current with { State = VolumeState.Ready, Session = null, SizeBytes = grown ? sizeBytes : previousSize },
                CancellationToken.None).ConfigureAwait(false);
        }

        return await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VolumeInfo> MountAsync(string vmName, VolumeAttachOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        VolumeValidation.ValidateName(options.Volume);
        options = options with { Path = VolumeValidation.ValidateMountPath(options.Path) };
        var vm = await GetVmRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        EnsureNotSaved(vm);
        if (!vm.State.IsActive())
        {
            await AttachAsync(vm.Id, options, cancellationToken).ConfigureAwait(false);
            return await GetAsync(options.Volume, cancellationToken).ConfigureAwait(false);
        }

        // Row first: it holds the volume against other writers while the disk is plugged and mounted.
        var driver = await HotplugDriverAsync(vm, "attach", cancellationToken).ConfigureAwait(false);
        var attachment = await store.AttachAsync(vm.Id, options, EnsureVmRunning(vm.Name), cancellationToken).ConfigureAwait(false);
        try
        {
            var volume = Usable((await store.GetAllAsync(cancellationToken).ConfigureAwait(false)).Single(volume => volume.Id == attachment.VolumeId));
            await VolumeHotplug.PlugAsync(driver, vm, volume, attachment, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DetachAsync(vm.Id, attachment.VolumeId, _ => { }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return await GetAsync(options.Volume, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VolumeInfo> DismountAsync(string vmName, string volumeName, bool force, CancellationToken cancellationToken)
    {
        var volume = await GetRecordAsync(volumeName, cancellationToken).ConfigureAwait(false);
        var vm = await GetVmRecordAsync(vmName, cancellationToken).ConfigureAwait(false);
        var attachment = (await store.AttachmentsAsync(vm.Id, cancellationToken).ConfigureAwait(false)).FirstOrDefault(attachment => attachment.VolumeId == volume.Id)
            ?? throw VolumeErrors.NotAttached(volume.Name, vm.Name);
        await DetachAsync(vm, volume, attachment, force, "detach", cancellationToken).ConfigureAwait(false);
        return await GetAsync(volume.Name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>New-Vm -Volume: attaches to a VM that was just created (and is stopped).</summary>
    internal Task AttachAsync(Guid vmId, VolumeAttachOptions options, CancellationToken cancellationToken) =>
        store.AttachAsync(
            vmId,
            options,
            vmState =>
            {
                if (IsActive(vmState))
                {
                    throw VolumeErrors.Invalid(VmPsErrorIds.VmNotStopped, "The VM started meanwhile; stop the VM first.", vmId);
                }
            },
            cancellationToken);

    /// <summary>
    /// The disks and guest mounts of a VM about to boot. A volume being copied or resized, or whose file is missing,
    /// fails the start with its own error.
    /// </summary>
    internal async Task<IReadOnlyList<(VolumeRecord Volume, VolumeAttachmentRecord Attachment)>> ForBootAsync(Guid vmId, CancellationToken cancellationToken)
    {
        var attachments = await store.AttachmentsAsync(vmId, cancellationToken).ConfigureAwait(false);
        if (attachments.Count == 0)
        {
            return [];
        }

        var volumes = (await store.GetAllAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(volume => volume.Id);
        return attachments.Select(attachment => (Usable(volumes[attachment.VolumeId]), attachment)).ToList();
    }

    /// <summary>The volume, unless it is being copied or resized, or its file is missing.</summary>
    private static VolumeRecord Usable(VolumeRecord volume)
    {
        EnsureIdle(volume);
        return File.Exists(volume.Path) ? volume : throw VolumeErrors.FileMissing(volume.Name, volume.Path);
    }

    /// <summary>
    /// Removes what killed commands left: rows still Creating (with their files) and claims of dead sessions, then,
    /// when no other command is building files, every file in the volume directories that no row names.
    /// </summary>
    internal async Task RepairAsync(CancellationToken cancellationToken)
    {
        files.EnsureDirectories();
        foreach (var volume in (await store.GetAllAsync(cancellationToken).ConfigureAwait(false)).Where(volume => volume.IsAbandoned))
        {
            if (volume.State is VolumeState.Creating or VolumeState.Removing)
            {
                await DeleteStorageAsync(volume, cancellationToken, missingIsGone: true).ConfigureAwait(false);
                await store.DeleteAsync(volume.Id, (_, _) => { }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // A killed resize recorded its new size first: keep the size the file has (lvextend changes a thin
                // volume's size in one metadata commit, so a thin volume is taken to have grown).
                var size = volume.State == VolumeState.Resizing && volume.ThinPool is null ? await VolumeFiles.SizeAsync(volume, cancellationToken).ConfigureAwait(false) : volume.SizeBytes;
                await store.UpdateAsync(volume.Id, (current, _) => current.IsAbandoned ? current with { State = VolumeState.Ready, Session = null, SizeBytes = size } : current, cancellationToken)
                    .ConfigureAwait(false);
            }
        }

        using var sweep = FileLock.TryAcquire(files.LockPath);
        if (sweep is null)
        {
            return;
        }

        var referenced = await store.ReferencedPathsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var path in Directory.EnumerateFileSystemEntries(files.Directory).Concat(Directory.EnumerateFiles(files.BasesDirectory)))
        {
            if (path != files.LockPath && path != files.BasesDirectory && !referenced.Contains(path))
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }
                else
                {
                    File.Delete(path);
                }
            }
        }
    }

    /// <summary>
    /// Reflink where the file system shares blocks; else freeze the source into a base both read from; else a full
    /// copy. Then both rows become Ready in one transaction; the copy's row is returned.
    /// </summary>
    private async Task<(CopyMethod Method, VolumeRecord Copy)> CopyFileAsync(VolumeRecord source, VolumeRecord copy, CancellationToken cancellationToken)
    {
        if (!File.Exists(source.Path))
        {
            throw VolumeErrors.FileMissing(source.Name, source.Path);
        }

        if (FileCopy.TryReflink(source.Path, copy.Path))
        {
            return (CopyMethod.Reflink, await CommitCopyAsync(source, copy, null, cancellationToken).ConfigureAwait(false));
        }

        if (!QemuImage.IsInstalled)
        {
            await FileCopy.SparseCopyAsync(source.Path, copy.Path, cancellationToken).ConfigureAwait(false);
            return (CopyMethod.FullCopy, await CommitCopyAsync(source, copy, null, cancellationToken).ConfigureAwait(false));
        }

        // The source's file becomes the base (a hard link under bases/, read-only from now on); both volumes get
        // new qcow2 files over it, and the commit switches the rows. Until then the source is untouched.
        var basePath = files.BasePathFor(Guid.NewGuid(), source.DiskFormat);
        VolumeFiles.HardLink(source.Path, basePath);
        var backing = new BackingImage(basePath, source.DiskFormat);
        var frozen = source with { Path = files.PathFor(source.Id, DiskImageFormat.Qcow2, "-" + Guid.NewGuid().ToString("N")[..8]), DiskFormat = DiskImageFormat.Qcow2, BackingPath = basePath };
        var copied = copy with { Path = files.PathFor(copy.Id, DiskImageFormat.Qcow2), DiskFormat = DiskImageFormat.Qcow2, BackingPath = basePath };
        VolumeRecord ready;
        try
        {
            Qcow2Overlay.CreateAll([frozen.Path, copied.Path], source.SizeBytes, backing);
            ready = await CommitCopyAsync(frozen, copied, new VolumeBaseRecord(basePath, source.DiskFormat, source.BackingPath), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            File.Delete(frozen.Path);
            File.Delete(copied.Path);
            File.Delete(basePath);
            throw;
        }

        File.Delete(source.Path);
        VolumeFiles.MakeReadOnly(basePath);
        return (CopyMethod.BackingFile, ready);
    }

    /// <summary>Both volumes Ready (with the base the source was frozen into, if it was) in one transaction; returns the copy's row.</summary>
    private async Task<VolumeRecord> CommitCopyAsync(VolumeRecord source, VolumeRecord copy, VolumeBaseRecord? frozenBase, CancellationToken cancellationToken)
    {
        var ready = copy with { State = VolumeState.Ready, Session = null };
        await store.CommitCopyAsync(source with { State = VolumeState.Ready, Session = null }, ready, frozenBase, cancellationToken).ConfigureAwait(false);
        return ready;
    }

    /// <summary>
    /// The thin pool of the host's storage backend when new volumes go there (null: files), refusing what a thin volume
    /// cannot be made from.
    /// </summary>
    private async Task<LvmThinStorage?> ThinStorageForNewAsync(VolumeCreateOptions options, CancellationToken cancellationToken)
    {
        var settings = await host.StorageAsync(cancellationToken).ConfigureAwait(false);
        if (settings.Backend != StorageBackend.LvmThin)
        {
            return null;
        }

        if (options.Format == VolumeFormat.Qcow2 || options.FromPath is not null)
        {
            throw StorageErrors.NewThinVolumeUnsupported(options.Name, settings);
        }

        return host.LvmThin.Storage(settings);
    }

    /// <summary>The thin pool a volume lives in; null for a file.</summary>
    private LvmThinStorage? ThinStorage(VolumeRecord volume) =>
        volume.ThinPool?.Split('/') is [var group, var pool] ? host.LvmThin.Storage(new StorageSettings(StorageBackend.LvmThin, group, pool)) : null;

    /// <summary>Deletes the volume's file or thin volume; <paramref name="missingIsGone"/>: a thin volume lvremove cannot find counts as removed.</summary>
    private async Task DeleteStorageAsync(VolumeRecord volume, CancellationToken cancellationToken, bool missingIsGone = false)
    {
        if (ThinStorage(volume) is not { } thin)
        {
            File.Delete(volume.Path);
            return;
        }

        try
        {
            await thin.RemoveVolumeAsync(volume.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (missingIsGone && ex.ErrorId == VmPsErrorIds.ExternalToolFailed)
        {
        }
    }

    private async Task DeleteUnreferencedBasesAsync(CancellationToken cancellationToken)
    {
        foreach (var path in await store.DeleteUnreferencedBasesAsync(cancellationToken).ConfigureAwait(false))
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Ends the attachment: a stopped VM's row goes; a running VM's volume is unmounted in the guest and its disk
    /// unplugged first, where its hypervisor can hot-plug ("stop the VM first" where not). Unmount and unplug come
    /// before the row, so a session killed in between leaves an attachment the next Dismount-VmVolume completes.
    /// </summary>
    private async Task DetachAsync(VmRecord vm, VolumeRecord volume, VolumeAttachmentRecord attachment, bool force, string action, CancellationToken cancellationToken)
    {
        EnsureNotSaved(vm);
        if (!vm.State.IsActive())
        {
            await store.DetachAsync(vm.Id, volume.Id, EnsureVmStopped(vm.Name, action), cancellationToken).ConfigureAwait(false);
            return;
        }

        var driver = await HotplugDriverAsync(vm, action, cancellationToken).ConfigureAwait(false);
        await VolumeHotplug.UnplugAsync(driver, vm, volume, attachment, force, cancellationToken).ConfigureAwait(false);
        await store.DetachAsync(vm.Id, volume.Id, _ => { }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The running VM's driver, which must hot-plug disks: else the error says to stop the VM first.</summary>
    private async Task<IHypervisorDriver> HotplugDriverAsync(VmRecord vm, string action, CancellationToken cancellationToken)
    {
        if (vm.State != VmState.Running || vm.Instance is null)
        {
            throw VmErrors.NotRunning(vm.Name, vm.State);
        }

        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        if (driver.Capabilities.Supports(HypervisorFeatures.DiskHotplug))
        {
            return driver;
        }

        var error = driver.Capabilities.NotSupported(HypervisorFeatures.DiskHotplug, vm.Name);
        throw new VmPsException(
            error.ErrorId,
            error.Kind,
            $"VM '{vm.Name}' is running, and {driver.Capabilities.Driver} cannot hot-plug disks to {action} volumes: stop the VM first.",
            vm.Name)
        {
            RecommendedAction = $"Stop-Vm {vm.Name}, then try again; or create the VM on a machine that hot-plugs disks (New-Vm -MachineType Q35, or Cloud Hypervisor).",
        };
    }

    /// <summary>A saved VM restores its devices as they were saved: its disks change only after it runs again, or is stopped.</summary>
    private static void EnsureNotSaved(VmRecord vm)
    {
        if (vm.State == VmState.Saved)
        {
            throw VolumeErrors.Invalid(
                VmPsErrorIds.VmSaved,
                $"VM '{vm.Name}' is saved: its restore needs the disks it was saved with. Start it and attach or detach the volume then (hot-plug), or discard the saved state first (Start-Vm -Force).",
                vm.Name);
        }
    }

    private static Action<string> EnsureVmRunning(string vmName) => state =>
    {
        if (state != nameof(VmState.Running))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.VmNotRunning, $"VM '{vmName}' stopped meanwhile; attach the volume to the stopped VM again.", vmName);
        }
    };

    private static Action<string> EnsureVmStopped(string vmName, string action) => state =>
    {
        if (IsActive(state))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.VmNotStopped, $"VM '{vmName}' started meanwhile; stop the VM first to {action} volumes.", vmName);
        }
    };

    private async Task<VmRecord> GetVmRecordAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await vms.FindByNameAsync(name, cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(name);
        return await reconciler.ReconcileAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    private async Task<VolumeRecord> GetRecordAsync(string name, CancellationToken cancellationToken)
    {
        var volume = await store.FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
        return volume is null || volume.State == VolumeState.Creating ? throw VolumeErrors.NotFound(name) : volume;
    }

    private static void ValidateSource(VolumeCreateOptions options)
    {
        if (options.FromPath is not { } source)
        {
            return;
        }

        if (options.Format == VolumeFormat.Raw)
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.VolumeSourceNeedsFilesystem, "A Raw volume has no filesystem to fill: use -Format Ext4 or Qcow2 with -FromPath.", options.Name);
        }

        if (!Directory.Exists(source) && !File.Exists(source))
        {
            throw new VmPsException(VmPsErrorIds.VolumeSourceNotFound, VmPsErrorKind.ObjectNotFound, $"'{source}' is neither a directory nor an archive file.", source);
        }
    }

    private static void EnsureIdle(VolumeRecord volume)
    {
        if (volume.State != VolumeState.Ready && !volume.IsAbandoned)
        {
            throw VolumeErrors.Busy(volume.Name, volume.State);
        }
    }

    /// <summary>A removal that failed gives the volume back as it was.</summary>
    private Task ReleaseClaimAsync(VolumeRecord claimed) => store.UpdateAsync(
        claimed.Id,
        (current, _) => current.State == VolumeState.Removing ? current with { State = VolumeState.Ready, Session = null } : current,
        CancellationToken.None);

    /// <summary>The host space the volume really uses: a file's blocks, or the pool blocks of a thin volume (<see cref="ThinUsage"/>).</summary>
    private static async Task<long> AllocatedBytesAsync(VolumeRecord volume, ThinUsage thinUsage, CancellationToken cancellationToken) =>
        volume.ThinPool?.Split('/') is [var group, _]
            ? await thinUsage.AllocatedBytesAsync(group, LvmThinPlanner.VolumeName(volume.Id), cancellationToken).ConfigureAwait(false)
            : FileAllocation.BytesOf(volume.Path);

    /// <summary>A running VM writing the volume would change it under the copy.</summary>
    private static void EnsureNoRunningWriter(VolumeRecord volume, IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)> attachments, string doing)
    {
        if (attachments.Where(pair => !pair.Attachment.ReadOnly && IsActive(pair.VmState)).Select(pair => pair.Attachment).FirstOrDefault() is { } writer)
        {
            throw VolumeErrors.InUseByRunningVm(volume.Name, writer.VmName, doing);
        }
    }

    private static bool IsActive(string vmState) => Enum.TryParse<VmState>(vmState, out var state) && state.IsActive();

    private static VolumeInfo ToInfo(VolumeRecord volume, IReadOnlyList<VolumeAttachmentRecord> attachments, long allocatedBytes)
    {
        var mine = attachments.Where(attachment => attachment.VolumeId == volume.Id)
            .Select(attachment => new VolumeAttachmentInfo(attachment.VmName, volume.Name, attachment.Path, attachment.ReadOnly))
            .ToList();
        return new VolumeInfo
        {
            Id = volume.Id,
            Name = volume.Name,
            Format = volume.Format,
            SizeBytes = volume.SizeBytes,
            AllocatedBytes = allocatedBytes,
            DiskFormat = volume.DiskFormat,
            Path = volume.Path,
            BackingFile = volume.BackingPath,
            AttachedTo = mine.Select(attachment => attachment.VmName).ToList(),
            Attachments = mine,
            CreatedAt = volume.CreatedAt,
            Owner = volume.Owner,
        };
    }
}
