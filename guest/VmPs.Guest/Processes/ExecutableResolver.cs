using VmPs.Guest.Native;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Processes;

/// <summary>Finds argv[0] the way a shell does, on the PATH of the environment the command will run with.</summary>
internal static class ExecutableResolver
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private const int ExecuteOk = 1;

    public static string Resolve(string command, IReadOnlyList<string> environment)
    {
        if (command.Length == 0)
        {
            throw new GuestException(ErrorCodes.BadRequest, "The command name is empty.");
        }

        if (command.Contains('/'))
        {
            return command;
        }

        var path = EnvironmentBlock.Get(environment, "PATH") ?? DefaultPath;
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, command);
            if (File.Exists(candidate) && Libc.access(candidate, ExecuteOk) == 0)
            {
                return candidate;
            }
        }

        throw new GuestException(ErrorCodes.CommandNotFound, $"'{command}' was not found on PATH ({path}).");
    }
}
