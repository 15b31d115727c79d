using VmPs.Core.Vms;

namespace VmPs.Core.Volumes;

/// <summary>Checks volume names, sizes and guest mount paths before anything is allocated.</summary>
public static class VolumeValidation
{
    public const long MiB = 1024 * 1024;
    public const long GiB = 1024 * MiB;
    public const long MinSizeBytes = 16 * MiB;
    public const long MaxSizeBytes = 64L * 1024 * GiB;
    private const int MaxPathBytes = 4096;

    /// <summary>Where a volume would hide what the guest needs: its kernel interfaces, or the whole root.</summary>
    private static readonly string[] ReservedPaths = ["/proc", "/sys", "/dev"];

    public static void ValidateName(string? name)
    {
        if (!VmValidation.IsValidName(name))
        {
            throw VolumeErrors.Invalid(
                VmPsErrorIds.InvalidVolumeName,
                $"'{name}' is not a valid volume name: use 1 to {VmValidation.MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.",
                name);
        }
    }

    public static void ValidateSize(long sizeBytes)
    {
        if (sizeBytes < MinSizeBytes || sizeBytes > MaxSizeBytes || sizeBytes % MiB != 0)
        {
            throw VolumeErrors.Invalid(
                VmPsErrorIds.VolumeSizeOutOfRange,
                $"A volume of {sizeBytes} bytes is out of range: use whole MiB from 16 MiB to 64 TiB.",
                sizeBytes);
        }
    }

    /// <summary>An absolute, normalised guest path that shadows neither the root nor /proc, /sys or /dev.</summary>
    public static string ValidateMountPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes || path.Any(char.IsControl))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.InvalidMountPath, $"Mount path '{path}' must be an absolute guest path (such as /srv/data) without control characters.", path);
        }

        var components = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (components.Length == 0 || components.Any(component => component is "." or ".."))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.InvalidMountPath, $"Mount path '{path}' must name a directory below / without '.' or '..' components.", path);
        }

        var normalized = "/" + string.Join('/', components);
        if (ReservedPaths.FirstOrDefault(reserved => normalized == reserved || normalized.StartsWith(reserved + "/", StringComparison.Ordinal)) is { } shadowed)
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.ReservedMountPath, $"Mount path '{path}' would shadow the guest's {shadowed}; choose a path outside /proc, /sys and /dev.", path);
        }

        return normalized;
    }

    /// <summary>The text <see cref="ParseAttachment"/> reads back into the same attachment.</summary>
    public static string FormatAttachment(VolumeAttachOptions attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return $"{attachment.Volume}:{attachment.Path}{(attachment.ReadOnly ? ":ro" : "")}";
    }

    /// <summary>"data:/srv/data", "data:/srv/data:ro" (New-Vm -Volume) into its parts.</summary>
    public static VolumeAttachOptions ParseAttachment(string text)
    {
        var separator = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (separator <= 0)
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.InvalidVolumeAttachment, $"'{text}' is not a volume attachment: use NAME:/guest/path or NAME:/guest/path:ro.", text);
        }

        var name = text![..separator];
        var (path, readOnly) = SplitAccessMode(text[(separator + 1)..]);
        ValidateName(name);
        return new VolumeAttachOptions(name, ValidateMountPath(path), readOnly);
    }

    /// <summary>"...:ro" and "...:rw" (any case) into the text before the suffix and whether it is read-only.</summary>
    public static (string Text, bool ReadOnly) SplitAccessMode(string text) =>
        text.EndsWith(":ro", StringComparison.OrdinalIgnoreCase) ? (text[..^3], true)
        : text.EndsWith(":rw", StringComparison.OrdinalIgnoreCase) ? (text[..^3], false)
        : (text, false);
}
