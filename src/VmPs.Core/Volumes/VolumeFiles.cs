using System.Globalization;
using System.IO.Compression;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Native;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Protocol.Archives;
using VmPs.Protocol.Files;

namespace VmPs.Core.Volumes;

/// <summary>
/// Builds and grows volume files: sparse, private (0600), ext4 made by mkfs.ext4 -d from a directory or from an
/// archive staged through the bounded tar reader into a private directory (no loop mounts), qcow2 by qemu-img.
/// A failure removes what it made.
/// </summary>
internal sealed class VolumeFiles
{
    private const string Label = "vmps-volume";

    public VolumeFiles(VmPsPaths paths)
    {
        Directory = paths.VolumesDirectory;
        BasesDirectory = Path.Combine(Directory, "bases");
    }

    public string Directory { get; }

    /// <summary>Frozen, read-only bases that qcow2 volumes made by Copy-VmVolume read from.</summary>
    public string BasesDirectory { get; }

    /// <summary>Held shared by commands that build files, exclusively by the sweep that deletes what no row names.</summary>
    public string LockPath => Path.Combine(Directory, ".lock");

    public string PathFor(Guid id, DiskImageFormat format, string? suffix = null) =>
        Path.Combine(Directory, $"{id:N}{suffix}{Extension(format)}");

    public string BasePathFor(Guid id, DiskImageFormat format) => Path.Combine(BasesDirectory, $"{id:N}{Extension(format)}");

    public void EnsureDirectories()
    {
        PrivateFiles.CreateDirectory(Directory);
        PrivateFiles.CreateDirectory(BasesDirectory);
    }

    /// <summary>Makes the volume's file at <paramref name="path"/>; on failure nothing is left there.</summary>
    public async Task BuildAsync(string path, VolumeCreateOptions options, CancellationToken cancellationToken)
    {
        try
        {
            switch (options.Format)
            {
                case VolumeFormat.Raw:
                    CreateSparse(path, options.SizeBytes);
                    break;
                case VolumeFormat.Ext4:
                    await BuildExt4Async(path, options, cancellationToken).ConfigureAwait(false);
                    break;
                case VolumeFormat.Qcow2:
                    await QemuImage.CreateFromRawAsync(path, raw => BuildExt4Async(raw, options, cancellationToken), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(options), options.Format, null);
            }
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Grows the file to <paramref name="sizeBytes"/> and, for a raw ext4 file, its filesystem with resize2fs.</summary>
    public static async Task GrowAsync(VolumeRecord volume, long sizeBytes, CancellationToken cancellationToken)
    {
        if (volume.DiskFormat == DiskImageFormat.Qcow2)
        {
            await QemuImage.ResizeAsync(volume.Path, DiskImageFormat.Qcow2, sizeBytes, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (volume.Format == VolumeFormat.Ext4)
        {
            await Ext4Image.GrowAsync(volume.Path, sizeBytes, $"volume '{volume.Name}'", cancellationToken).ConfigureAwait(false);
            return;
        }

        await using var file = new FileStream(volume.Path, FileMode.Open, FileAccess.Write);
        file.SetLength(sizeBytes);
    }

    /// <summary>The size of the disk the volume's file holds (a qcow2 file's virtual size).</summary>
    public static async Task<long> SizeAsync(VolumeRecord volume, CancellationToken cancellationToken) =>
        volume.DiskFormat == DiskImageFormat.Qcow2
            ? (await QemuImage.InfoAsync(volume.Path, DiskImageFormat.Qcow2, cancellationToken).ConfigureAwait(false)).VirtualSizeBytes
            : new FileInfo(volume.Path).Length;

    /// <summary>A frozen base: readable by its owner only, writable by nobody.</summary>
    public static void MakeReadOnly(string path) => UnixFileSystem.SetMode(path, UnixFileMode.UserRead);

    /// <summary>A second name for the file (link(2)): the base shares the source's blocks without copying them.</summary>
    public static void HardLink(string existing, string link)
    {
        const int currentDirectory = -100;
        if (Libc.linkat(currentDirectory, existing, currentDirectory, link, 0) != 0)
        {
            var error = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot link '{existing}' as '{link}': {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(error)}.", error);
        }
    }

    private static void CreateSparse(string path, long sizeBytes)
    {
        using var file = PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(sizeBytes);
    }

    private async Task BuildExt4Async(string path, VolumeCreateOptions options, CancellationToken cancellationToken)
    {
        var mkfs = HostTools.Require(HostToolCatalog.MkfsExt4);
        string? staging = null;
        try
        {
            var source = options.FromPath;
            if (source is not null && !System.IO.Directory.Exists(source))
            {
                staging = await StageArchiveAsync(source, cancellationToken).ConfigureAwait(false);
                source = staging;
            }

            if (source is not null)
            {
                var content = await ContentBytesAsync(source, cancellationToken).ConfigureAwait(false);
                if (content > options.SizeBytes)
                {
                    throw VolumeErrors.TooSmall(options.Name, options.SizeBytes, content);
                }
            }

            CreateSparse(path, options.SizeBytes);
            var result = await ExternalTool.RunAsync(mkfs, MkfsArguments(path, source), cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                // mkfs -d runs out of blocks or inodes when the content (plus metadata) does not fit.
                if (source is not null && (result.StandardError.Contains("allocate", StringComparison.OrdinalIgnoreCase)
                    || result.StandardError.Contains("No space", StringComparison.OrdinalIgnoreCase)))
                {
                    throw VolumeErrors.TooSmall(options.Name, options.SizeBytes, await ContentBytesAsync(source, cancellationToken).ConfigureAwait(false));
                }

                throw new VmPsException(VmPsErrorIds.ExternalToolFailed, VmPsErrorKind.InvalidOperation, $"mkfs.ext4 failed for volume '{options.Name}': {result.StandardError.Trim()}", mkfs);
            }
        }
        finally
        {
            if (staging is not null)
            {
                System.IO.Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>mkfs.ext4's arguments for a volume at <paramref name="path"/> (a file or a block device), filled from <paramref name="source"/> when given.</summary>
    public static string[] MkfsArguments(string path, string? source) =>
    [
        "-q", "-F", "-t", "ext4", "-L", Label, "-m", "0",
        "-E", "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0",
        .. source is null ? Array.Empty<string>() : ["-d", source],
        path,
    ];

    /// <summary>
    /// Extracts a .tar, .tar.gz or .tgz (by content, not name) into a private directory beside the volumes, through
    /// the bounded tar reader and the confined writer: no entry lands outside it, devices and hard links are refused.
    /// </summary>
    private async Task<string> StageArchiveAsync(string archive, CancellationToken cancellationToken)
    {
        var staging = Path.Combine(Directory, $".staging-{Guid.NewGuid():N}");
        PrivateFiles.CreateNewDirectory(staging);
        try
        {
            await using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
            var magic = new byte[2];
            var gzip = await file.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
            file.Seek(0, SeekOrigin.Begin);
            await using var content = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            using var destination = ConfinedDirectory.Open(staging, Confinement.Beneath);
            var modes = Environment.IsPrivilegedProcess ? ExtractedModes.ExactOwnerAndMode : ExtractedModes.ExactMode;
            await TarTreeExtractor.ExtractAsync(content, destination, new TarExtractOptions { Modes = modes }, cancellationToken).ConfigureAwait(false);
            return staging;
        }
        catch (Exception exception) when (exception is TarArchiveException or FileOperationException or InvalidDataException)
        {
            System.IO.Directory.Delete(staging, recursive: true);
            throw new VmPsException(VmPsErrorIds.VolumeSourceInvalid, VmPsErrorKind.InvalidData, $"'{archive}' is not a directory or a usable tar archive: {exception.Message}", archive, exception);
        }
        catch
        {
            System.IO.Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>What the tree takes on an ext4 filesystem, roughly: its blocks, an inode each, and the journal.</summary>
    private static async Task<long> ContentBytesAsync(string directory, CancellationToken cancellationToken)
    {
        var bytes = await ExternalTool.RunCheckedAsync("du", ["-s", "-x", "--block-size=1", directory], cancellationToken).ConfigureAwait(false);
        var inodes = await ExternalTool.RunCheckedAsync("du", ["-s", "-x", "--inodes", directory], cancellationToken).ConfigureAwait(false);
        return FirstNumber(bytes.StandardOutput) + (FirstNumber(inodes.StandardOutput) * 256);
    }

    private static long FirstNumber(string duOutput) =>
        long.Parse(duOutput.AsSpan(0, duOutput.IndexOf('\t')), CultureInfo.InvariantCulture);

    private static string Extension(DiskImageFormat format) => format == DiskImageFormat.Qcow2 ? ".qcow2" : ".img";
}
