using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>A file operation failed for a reason with a stable code (one of <see cref="FileErrorCodes"/>).</summary>
public sealed class FileOperationException : Exception
{
    private const int ENOTDIR = 20;
    private const int EISDIR = 21;
    private const int ENOSPC = 28;
    private const int EEXIST = 17;
    private const int ENOTEMPTY = 39;

    public FileOperationException(string code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    public string Code { get; }

    /// <summary>
    /// Gives a file system exception its specific code. On Unix, .NET keeps the errno as the HResult
    /// of the IOExceptions it has no dedicated type for.
    /// </summary>
    public static FileOperationException From(Exception error) => error switch
    {
        FileOperationException known => known,
        FileNotFoundException or DirectoryNotFoundException => new(FileErrorCodes.NotFound, error.Message, error),
        UnauthorizedAccessException => new(FileErrorCodes.PermissionDenied, error.Message, error),
        InvalidDataException or EndOfStreamException => new(FileErrorCodes.InvalidArchive, $"The tar stream is malformed: {error.Message}", error),
        IOException { HResult: ENOTDIR } => new(FileErrorCodes.NotADirectory, error.Message, error),
        IOException { HResult: EISDIR } => new(FileErrorCodes.IsADirectory, error.Message, error),
        IOException { HResult: EEXIST } => new(FileErrorCodes.Exists, error.Message, error),
        IOException { HResult: ENOTEMPTY } => new(FileErrorCodes.DirectoryNotEmpty, error.Message, error),
        IOException { HResult: ENOSPC } => new(FileErrorCodes.NoSpace, error.Message, error),
        _ => new(FileErrorCodes.IoFailed, error.Message, error),
    };

    /// <summary>True for the exceptions <see cref="From"/> gives a code: file system failures and malformed archives, not bugs.</summary>
    public static bool IsFileSystemError(Exception error) =>
        error is FileOperationException or IOException or UnauthorizedAccessException or InvalidDataException;
}
