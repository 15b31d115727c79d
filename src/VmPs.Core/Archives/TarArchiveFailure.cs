using VmPs.Protocol.Archives;

namespace VmPs.Core.Archives;

/// <summary>Turns a refused tar stream into the error a user sees, with the same ids for every kind of archive.</summary>
public static class TarArchiveFailure
{
    /// <summary>
    /// "&lt;subject&gt;Invalid", "&lt;subject&gt;Truncated", "&lt;subject&gt;LimitExceeded" or "&lt;subject&gt;Unsupported"
    /// (subject "LayerArchive", "ImageArchive", ...), the message prefixed with <paramref name="archive"/>, which
    /// names the archive for the user ("Layer sha256:...", "/tmp/app.tar").
    /// </summary>
    public static VmPsException ToVmPsException(TarArchiveException exception, string subject, string archive, object? target)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var (suffix, kind) = exception.Error switch
        {
            TarArchiveError.Truncated => ("Truncated", VmPsErrorKind.InvalidData),
            TarArchiveError.LimitExceeded => ("LimitExceeded", VmPsErrorKind.LimitsExceeded),
            TarArchiveError.Unsupported => ("Unsupported", VmPsErrorKind.NotImplemented),
            _ => ("Invalid", VmPsErrorKind.InvalidData),
        };
        return new VmPsException(subject + suffix, kind, $"{archive}: {exception.Message}", target, exception);
    }
}
