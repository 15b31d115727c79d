using System.Globalization;
using VmPs.Core.Hypervisors;
using VmPs.Core.Storage;
using VmPs.Core.Vms;

namespace VmPs.Core.Images.Disk;

/// <summary>
/// Decides whether a file New-VmImage was given is a disk image VmPs may boot, and what it is. The file is hostile:
/// only qcow2 and raw are accepted (qemu's other formats can name further host files, as vmdk extents do), the format
/// is decided by VmPs from the qcow2 magic and then always stated to qemu-img (never probed), a qcow2 that would make
/// qemu open any other file (a backing file, an external data file) is refused before qemu-img opens it, and its
/// metadata must pass qemu-img check.
/// </summary>
internal static class DiskImageInspector
{
    /// <summary>A disk larger than a VM may have (New-Vm -DiskSizeGB's upper bound) could never be booted.</summary>
    public const long MaxVirtualSizeBytes = (long)VmValidation.MaxDiskSizeGiB << 30;

    private const int SectorSize = 512;

    /// <summary>The boot signature ending an MBR, which every partitioned disk (GPT's protective MBR too) carries.</summary>
    private static readonly byte[] BootSignature = [0x55, 0xAA];

    public static async Task<DiskImageInfo> InspectAsync(string path, string displayName, CancellationToken cancellationToken)
    {
        var start = await ReadStartAsync(path, cancellationToken).ConfigureAwait(false);
        var format = Qcow2Header.HasMagic(start) ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
        if (format == DiskImageFormat.Qcow2)
        {
            RefuseHeader(Qcow2Header.TryRead(start) ?? throw Invalid(displayName, "its qcow2 header is cut short"), displayName);
        }
        else if (start.Length < SectorSize || new FileInfo(path).Length % SectorSize != 0 || !start.AsSpan(510, 2).SequenceEqual(BootSignature))
        {
            throw Invalid(displayName, "it is neither a qcow2 image nor a raw disk with a partition table (no MBR or GPT boot signature)");
        }

        DiskImageInfo info;
        try
        {
            info = await QemuImage.InfoAsync(path, format, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException exception) when (exception.ErrorId is VmPsErrorIds.ExternalToolFailed or VmPsErrorIds.QemuImgInvalidAnswer)
        {
            throw Invalid(displayName, $"qemu-img cannot read it ({exception.Message})");
        }

        if (info.BackingFile is not null || info.DataFile is not null)
        {
            throw BackingFileRefused(
                displayName, info.BackingFile is { } backing ? $"the backing file '{backing}'" : $"the external data file '{info.DataFile}'");
        }

        if (info.VirtualSizeBytes <= 0 || info.VirtualSizeBytes > MaxVirtualSizeBytes)
        {
            throw new VmPsException(
                VmPsErrorIds.DiskImageTooLarge,
                VmPsErrorKind.LimitsExceeded,
                string.Create(CultureInfo.InvariantCulture, $"The disk image '{displayName}' claims a {info.VirtualSizeBytes} byte disk: a VM's disk may be 1 byte to {VmValidation.MaxDiskSizeGiB} GiB."),
                displayName);
        }

        if (format == DiskImageFormat.Qcow2)
        {
            await CheckMetadataAsync(path, displayName, cancellationToken).ConfigureAwait(false);
        }

        return info;
    }

    private static void RefuseHeader(Qcow2Header header, string displayName)
    {
        if (header.HasBackingFile || header.HasExternalDataFile)
        {
            throw BackingFileRefused(displayName, header.HasBackingFile ? "a backing file" : "an external data file");
        }

        if (header.CryptMethod != 0)
        {
            throw Invalid(displayName, "it is encrypted; decrypt it with qemu-img convert first");
        }

        if (header.IsMarkedCorrupt)
        {
            throw Corrupt(displayName, "qemu marked it corrupt");
        }
    }

    private static async Task CheckMetadataAsync(string path, string displayName, CancellationToken cancellationToken)
    {
        var (result, message) = await QemuImage.CheckAsync(path, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case DiskImageCheckResult.Corrupt:
                throw Corrupt(displayName, message);
            case DiskImageCheckResult.Failed:
                throw Invalid(displayName, $"qemu-img check could not walk its metadata ({message})");
        }
    }

    private static async Task<byte[]> ReadStartAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        var buffer = new byte[SectorSize];
        var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return buffer[..read];
    }

    private static VmPsException Invalid(string displayName, string why) => new(
        VmPsErrorIds.DiskImageInvalid,
        VmPsErrorKind.InvalidData,
        $"'{displayName}' is not a disk image VmPs can use: {why}.",
        displayName)
    {
        RecommendedAction = "Give a qcow2 image or a raw disk image (.img, .raw) such as a distribution's cloud image.",
    };

    private static VmPsException Corrupt(string displayName, string detail) => new(
        VmPsErrorIds.DiskImageCorrupt,
        VmPsErrorKind.InvalidData,
        $"The qcow2 image '{displayName}' is corrupt: {detail}",
        displayName)
    {
        RecommendedAction = "Download the image again; qemu-img check -r all repairs a copy you trust.",
    };

    private static VmPsException BackingFileRefused(string displayName, string what) => new(
        VmPsErrorIds.BackingFileRefused,
        VmPsErrorKind.PermissionDenied,
        $"The qcow2 image '{displayName}' refers to {what}: VmPs imports only self-contained images, so that an image never makes it read a host file.",
        displayName)
    {
        RecommendedAction = "Flatten the image you trust first: qemu-img convert -O qcow2 IMAGE FLAT.qcow2.",
    };
}
