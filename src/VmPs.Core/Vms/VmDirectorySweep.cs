using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>
/// What a New-Vm or Remove-Vm killed midway leaves in the VMs directory, removed by the next VM command. New-Vm writes
/// a marker naming its session (<see cref="VmFiles.CreatingMarker"/>, a pid file) before it makes anything and removes
/// it last; a marker whose session is gone means a creation nobody will finish: its adapter, row and directory go
/// (<see cref="RollBackCreationAsync"/>, also what a failing New-Vm does itself). Remove-Vm deletes the row before the
/// directory, so a VM directory with neither a row nor a marker is the rest of a removal and goes too.
/// </summary>
internal sealed class VmDirectorySweep
{
    private readonly VmPsPaths paths;
    private readonly VmStore vms;
    private readonly VmNetworking networking;
    private readonly VmReconciler reconciler;
    private readonly VmDisks disks;

    public VmDirectorySweep(VmPsPaths paths, VmStore vms, VmNetworking networking, VmReconciler reconciler, VmDisks disks)
    {
        this.disks = disks;
        this.paths = paths;
        this.vms = vms;
        this.networking = networking;
        this.reconciler = reconciler;
    }

    /// <summary>Rolls back every creation whose session is gone (one directory read when there is none).</summary>
    public async Task SweepAbandonedCreationsAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, marker) in Entries(VmFiles.CreatingMarkerSuffix))
        {
            if (PidFile.Read(marker) is not { } creator || !ProcessProbe.IsRunning(creator))
            {
                await RollBackCreationAsync(id, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Removes the VM directories that have no row and no creation under way.</summary>
    public async Task SweepOrphanedDirectoriesAsync(CancellationToken cancellationToken)
    {
        var recorded = (await vms.GetAllAsync(cancellationToken).ConfigureAwait(false)).Select(vm => vm.Id).ToHashSet();
        foreach (var (id, directory) in Entries(""))
        {
            var files = reconciler.Files(id);
            if (Directory.Exists(directory) && !recorded.Contains(id) && !File.Exists(files.CreatingMarker) && await vms.FindByIdAsync(id, cancellationToken).ConfigureAwait(false) is null)
            {
                await disks.DeleteAsync(files, id, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Undoes a creation: the adapter (TAP, rules, address) and the row if it was stored, then the disk and directory, then the marker.</summary>
    public async Task RollBackCreationAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await vms.FindByIdAsync(id, cancellationToken).ConfigureAwait(false) is not null)
        {
            await networking.ReleaseAsync(id, cancellationToken).ConfigureAwait(false);
            await vms.DeleteAsync(id, _ => { }, cancellationToken).ConfigureAwait(false);
        }

        var files = reconciler.Files(id);
        await disks.DeleteAsync(files, id, cancellationToken).ConfigureAwait(false);
        File.Delete(files.CreatingMarker);
    }

    /// <summary>Tolerates another session removing the same directory meanwhile.</summary>
    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The entries of the VMs directory named by a VM id (32 hex digits) and <paramref name="suffix"/>.</summary>
    private IEnumerable<(Guid Id, string Path)> Entries(string suffix)
    {
        if (!Directory.Exists(paths.VmsDirectory))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFileSystemEntries(paths.VmsDirectory, "*" + suffix))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(suffix, StringComparison.Ordinal) && Guid.TryParseExact(name[..^suffix.Length], "N", out var id))
            {
                yield return (id, path);
            }
        }
    }
}
