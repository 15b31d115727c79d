using VmPs.Core.Volumes;

namespace VmPs.Core.Shares;

/// <summary>Reads and checks New-Vm -Share before anything is allocated.</summary>
public static class ShareValidation
{
    private const string Usage = "use /host/dir:/guest/dir or /host/dir:/guest/dir:ro";

    /// <summary>
    /// "/host/dir:/guest/dir" or "/host/dir:/guest/dir:ro" into its parts; the host path is taken as written (the
    /// cmdlet resolves it against the PowerShell location). The split is at the last ":/", so a host path may hold ':'.
    /// </summary>
    public static ShareOptions Parse(string text)
    {
        var (rest, readOnly) = VolumeValidation.SplitAccessMode(text ?? "");

        var separator = rest.LastIndexOf(":/", StringComparison.Ordinal);
        if (separator <= 0)
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.InvalidShare, $"'{text}' is not a host directory share: {Usage}.", text);
        }

        return new ShareOptions(rest[..separator], rest[(separator + 1)..], readOnly);
    }

    /// <summary>The share as New-Vm -Share takes it; <see cref="Parse"/> reads it back.</summary>
    public static string Format(ShareOptions share)
    {
        ArgumentNullException.ThrowIfNull(share);
        return $"{share.HostPath}:{share.GuestPath}{(share.ReadOnly ? ":ro" : "")}";
    }

    /// <summary>
    /// Each share's host path is an existing directory (kept absolute and normalised) and its guest path a valid
    /// mount path that no other share or volume of the VM uses.
    /// </summary>
    public static IReadOnlyList<ShareOptions> Validate(IReadOnlyList<ShareOptions> shares, IEnumerable<string> volumePaths)
    {
        ArgumentNullException.ThrowIfNull(shares);
        var taken = new HashSet<string>(volumePaths.Select(VolumeValidation.ValidateMountPath), StringComparer.Ordinal);
        var result = new List<ShareOptions>(shares.Count);
        foreach (var share in shares)
        {
            var guestPath = VolumeValidation.ValidateMountPath(share.GuestPath);
            if (!taken.Add(guestPath))
            {
                throw VolumeErrors.Invalid(
                    VmPsErrorIds.DuplicateMountPath,
                    $"Guest path '{guestPath}' is given to more than one share or volume; give each its own path.",
                    share.GuestPath);
            }

            result.Add(share with { HostPath = HostDirectory(share.HostPath), GuestPath = guestPath });
        }

        return result;
    }

    private static string HostDirectory(string path)
    {
        if (string.IsNullOrEmpty(path) || !Path.IsPathFullyQualified(path) || path.Any(char.IsControl))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.InvalidShare, $"Share host path '{path}' must be an absolute host path without control characters.", path);
        }

        if (File.Exists(path))
        {
            throw VolumeErrors.Invalid(VmPsErrorIds.ShareHostPathNotDirectory, $"Share host path '{path}' is a file; share a directory.", path);
        }

        if (!Directory.Exists(path))
        {
            throw new VmPsException(VmPsErrorIds.ShareHostPathNotFound, VmPsErrorKind.ObjectNotFound, $"Share host directory '{path}' does not exist.", path);
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
    }
}
