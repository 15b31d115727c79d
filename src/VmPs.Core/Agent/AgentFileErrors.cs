using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>
/// The VmPsExceptions of file operations: the same file error codes, reported by the agent (Guest... ids)
/// or met on the host while reading or extracting (Host... ids).
/// </summary>
internal static class AgentFileErrors
{
    private static readonly Dictionary<string, (string Suffix, VmPsErrorKind Kind)> FileErrorCodeIds = new(StringComparer.Ordinal)
    {
        [FileErrorCodes.NotFound] = ("FileNotFound", VmPsErrorKind.ObjectNotFound),
        [FileErrorCodes.IsADirectory] = ("PathIsDirectory", VmPsErrorKind.InvalidOperation),
        [FileErrorCodes.NotADirectory] = ("PathNotDirectory", VmPsErrorKind.InvalidOperation),
        [FileErrorCodes.PermissionDenied] = ("FilePermissionDenied", VmPsErrorKind.PermissionDenied),
        [FileErrorCodes.Exists] = ("FileExists", VmPsErrorKind.ResourceExists),
        [FileErrorCodes.DirectoryNotEmpty] = ("DirectoryNotEmpty", VmPsErrorKind.InvalidOperation),
        [FileErrorCodes.PathEscape] = ("PathEscape", VmPsErrorKind.InvalidData),
        [FileErrorCodes.LinkLoop] = ("SymbolicLinkLoop", VmPsErrorKind.InvalidData),
        [FileErrorCodes.UnexpectedEntry] = ("ArchiveUnexpectedEntry", VmPsErrorKind.InvalidData),
        [FileErrorCodes.UnsupportedEntry] = ("UnsupportedFileType", VmPsErrorKind.InvalidData),
        [FileErrorCodes.InvalidArchive] = ("ArchiveInvalid", VmPsErrorKind.InvalidData),
        [FileErrorCodes.NoSpace] = ("DiskFull", VmPsErrorKind.ResourceUnavailable),
        [FileErrorCodes.IoFailed] = ("FileIoFailed", VmPsErrorKind.InvalidOperation),
    };

    public static VmPsException FromAgent(ErrorMessage error) =>
        FileErrorCodeIds.TryGetValue(error.Code, out var id)
            ? new VmPsException("Guest" + id.Suffix, id.Kind, error.Message)
            : AgentErrors.FromAgent(error);

    public static VmPsException FromHost(Exception error)
    {
        var known = FileOperationException.From(error);
        var id = FileErrorCodeIds[known.Code];
        return new VmPsException("Host" + id.Suffix, id.Kind, known.Message, inner: error);
    }

    public static VmPsException RecurseRequired(string path) =>
        new(VmPsErrorIds.CopyRecurseRequired, VmPsErrorKind.InvalidArgument, $"'{path}' is a directory; copying a directory needs -Recurse.", path);

    public static VmPsException GuestExists(string path) =>
        new(VmPsErrorIds.GuestFileExists, VmPsErrorKind.ResourceExists, $"'{path}' already exists in the guest; use -Force to overwrite it.", path);

    public static VmPsException HostExists(string path) =>
        new(VmPsErrorIds.HostFileExists, VmPsErrorKind.ResourceExists, $"'{path}' already exists; use -Force to overwrite it.", path);

    public static VmPsException HostNotFound(string path) =>
        new(VmPsErrorIds.HostFileNotFound, VmPsErrorKind.ObjectNotFound, $"'{path}' does not exist.", path);

    public static VmPsException DestinationNotFound(string directory, bool inGuest) =>
        new(
            VmPsErrorIds.CopyDestinationNotFound,
            VmPsErrorKind.ObjectNotFound,
            $"The destination directory '{directory}' does not exist{(inGuest ? " in the guest" : "")}; create it first, or use -CreateFullPath.",
            directory);

    public static VmPsException TargetNameRequired(string guestPath, string hostPath) =>
        new(
            VmPsErrorIds.CopyTargetNameRequired,
            VmPsErrorKind.InvalidArgument,
            $"'{guestPath}' ends without a name to copy it under into the directory '{hostPath}'; give a destination that does not exist yet.",
            guestPath);

    public static VmPsException InvalidGuestPath(string path) =>
        new(VmPsErrorIds.InvalidGuestPath, VmPsErrorKind.InvalidArgument, $"'{path}' is not an absolute guest path (it must start with /).", path);
}
