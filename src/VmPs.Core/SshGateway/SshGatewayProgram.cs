using VmPs.Protocol.Files;

namespace VmPs.Core.SshGateway;

/// <summary>
/// The gateway program (src/VmPs.SshGateway, bin/sshgw/vmps-sshgw in the module): sshd runs it as root as its
/// AuthorizedKeysCommand and as the login shell of every gateway account, so sshd's own rule for such programs is
/// checked before it is handed over: the file and every directory above it owned by root and writable by no one else.
/// </summary>
internal static class SshGatewayProgram
{
    public const string FileName = "vmps-sshgw";

    private const int GroupOrOtherWrite = 0b000_010_010;

    /// <summary>
    /// Names a copy of the program's folder to run instead of the module's own, for a module whose folder sshd refuses
    /// (under a directory others may write, as /tmp): the copy is checked as the module's would be (<see cref="Check"/>).
    /// </summary>
    public const string EnvironmentVariable = "VMPS_SSHGW_PROGRAM";

    /// <summary>
    /// $VMPS_SSHGW_PROGRAM, else sshgw/ beside the engine; inside the program itself (its own copy of the engine), the
    /// program.
    /// </summary>
    public static string Locate() =>
        Path.GetFileName(Environment.ProcessPath) == FileName
            ? Environment.ProcessPath!
            : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } chosen
                ? chosen
                : Path.Combine(Path.GetDirectoryName(typeof(SshGatewayProgram).Assembly.Location) ?? AppContext.BaseDirectory, "sshgw", FileName);

    /// <summary>The program's path, once found to be what sshd accepts; ProgramMissing or ProgramUnsafe otherwise.</summary>
    public static string Check(string path)
    {
        if (!File.Exists(path))
        {
            throw SshGatewayErrors.ProgramMissing(path);
        }

        var resolved = Canonical(path);

        // sshd_config names it unquoted (AuthorizedKeysCommand must start with '/') and a colon would split a passwd field.
        if (resolved.IndexOfAny([':', ' ', '\t', '"', '\n', '\\']) >= 0)
        {
            throw SshGatewayErrors.ProgramUnsafe(resolved, "its path holds a space, a colon, a quote, a backslash or a line break");
        }

        for (var current = resolved; current is not null; current = Path.GetDirectoryName(current))
        {
            var status = UnixFileSystem.GetStatus(current);
            if (status.Uid != 0 || (status.Mode & GroupOrOtherWrite) != 0)
            {
                throw SshGatewayErrors.ProgramUnsafe(resolved, $"'{current}' is owned by uid {status.Uid} with mode {Convert.ToString(status.Mode & 0xFFF, 8)}");
            }
        }

        return resolved;
    }

    /// <summary>The path with every symbolic link resolved, as sshd checks it (realpath).</summary>
    private static string Canonical(string path)
    {
        using var handle = File.OpenHandle(path);
        return new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget ?? Path.GetFullPath(path);
    }
}
