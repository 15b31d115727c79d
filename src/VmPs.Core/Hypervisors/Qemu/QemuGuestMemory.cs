using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// Where a QEMU VM's guest RAM lives. A VM booted (or restored) runs on a shared file of its own on the host's
/// shared-memory tmpfs, so that a save or checkpoint can copy its memory while the vCPUs stand still and leave it out
/// of the migration stream (x-ignore-shared). A tmpfs file costs what anonymous memory costs; a file in the VM
/// directory would have the kernel write every guest store back to disk. A VM forked from a checkpoint maps the
/// checkpoint's copy privately (copy-on-write) instead: the pages no fork wrote are one page cache for all of them.
/// <paramref name="FromStateFile"/>: the RAM is a saved state's RAM file (mapped, or copied into the VM's own file),
/// so the state's stream was saved without it and must be loaded with x-ignore-shared.
/// </summary>
internal sealed record QemuGuestMemory(string Path, bool Shared, bool FromStateFile = false)
{
    /// <summary>The RAM file in a saved state: the guest's memory as it was, which restores map or copy.</summary>
    public const string StateFileName = "memory.ram";

    public const string BackendId = "mem";

    private const string SharedMemoryRoot = "/dev/shm";

    /// <summary>
    /// The RAM a restore from <paramref name="stateDirectory"/> runs on. A state without a RAM file (saved from a VM on a
    /// private mapping, or by an older VmPs) has the memory in its stream: a fresh file of the VM's own. A RAM file that
    /// other states share as hard links (a checkpoint's, its forks' and a VM's restored from it) is mapped privately, so
    /// that the pages no VM wrote stay one page cache for all of them. A RAM file no other state shares (Save-Vm's,
    /// deleted after the restore) is copied into the VM's own file, which it then runs on as a booted VM does: its next
    /// save or checkpoint copies a RAM file again instead of streaming its memory.
    /// </summary>
    public static async Task<QemuGuestMemory> ForRestoreAsync(string vmDirectory, string stateDirectory, CancellationToken cancellationToken)
    {
        var stateFile = System.IO.Path.Combine(stateDirectory, StateFileName);
        switch (UnixFileSystem.TryGetStatus(stateFile))
        {
            case null:
                return OwnFile(vmDirectory);
            case { Links: > 1 }:
                return new QemuGuestMemory(stateFile, Shared: false, FromStateFile: true);
            default:
                var path = RunningFile(vmDirectory);
                PrepareRoot();
                File.Delete(path);
                await CopyStateFileAsync(stateFile, path, cancellationToken).ConfigureAwait(false);
                return new QemuGuestMemory(path, Shared: true, FromStateFile: true);
        }
    }

    /// <summary>
    /// A fresh shared file of the VM's own, empty and 0600 (QEMU sizes an existing file, and would create a missing one
    /// with its umask's mode); a stale one, left by a process that was killed, is deleted first.
    /// </summary>
    public static QemuGuestMemory OwnFile(string vmDirectory)
    {
        var path = RunningFile(vmDirectory);
        PrepareRoot();
        File.Delete(path);
        PrivateFiles.OpenHandle(path, FileMode.CreateNew, FileAccess.Write).Dispose();
        return new QemuGuestMemory(path, Shared: true);
    }

    /// <summary>The VM's own RAM file, whether it exists or not (one per VM directory).</summary>
    public static string RunningFile(string vmDirectory)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(System.IO.Path.GetFullPath(vmDirectory))))[..32].ToLowerInvariant();
        return System.IO.Path.Combine(Root, key + ".ram");
    }

    /// <summary>Once the VM's QEMU is gone: frees its RAM.</summary>
    public static void DeleteRunningFile(string vmDirectory) => File.Delete(RunningFile(vmDirectory));

    /// <summary>The -object argument of the guest RAM backend.</summary>
    public string BackendArgument(int memoryMiB) =>
        $"memory-backend-file,id={BackendId},size={memoryMiB.ToString(CultureInfo.InvariantCulture)}M,mem-path={Path.Replace(",", ",,", StringComparison.Ordinal)},share={(Shared ? "on" : "off")}";

    /// <summary>A 0600 sparse copy; a failed one leaves no copy behind and says why the restore cannot go on.</summary>
    private static async Task CopyStateFileAsync(string stateFile, string path, CancellationToken cancellationToken)
    {
        try
        {
            await FileCopy.CopyAsync(stateFile, path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or FileOperationException)
        {
            File.Delete(path);
            throw new VmPsException(
                VmPsErrorIds.VmRestoreFailed,
                VmPsErrorKind.ResourceUnavailable,
                $"The saved memory '{stateFile}' could not be copied to '{path}', the memory the restored VM runs on: {error.Message} The saved state was not changed.",
                stateFile,
                error);
        }
    }

    private static string Root => System.IO.Path.Combine(SharedMemoryRoot, $"vmps-{Native.Libc.geteuid().ToString(CultureInfo.InvariantCulture)}");

    /// <summary>
    /// /dev/shm/vmps-UID, 0700. /dev/shm is shared by every user (sticky, like /tmp): an entry of that name that is not
    /// this user's own directory (another user's, or a link) is refused, never used.
    /// </summary>
    private static void PrepareRoot()
    {
        if (UnixFileSystem.TryGetStatus(Root) is null)
        {
            try
            {
                PrivateFiles.CreateNewDirectory(Root);
            }
            catch (FileOperationException error) when (error.Code == FileErrorCodes.Exists)
            {
                // Another process made it first; checked below like any existing one.
            }
        }

        if (UnixFileSystem.TryGetStatus(Root) is not { Kind: FileKind.Directory } status || status.Uid != (int)Native.Libc.geteuid())
        {
            throw new VmPsException(
                VmPsErrorIds.HypervisorStartFailed,
                VmPsErrorKind.PermissionDenied,
                $"'{Root}', where VmPs keeps the memory of running QEMU VMs, exists and is not a directory of this user's; VmPs will not use it.",
                Root)
            {
                RecommendedAction = $"Remove '{Root}' (another user or program made it).",
            };
        }

        PrivateFiles.Restrict(Root);
    }
}
