using VmPs.Core.Processes;

namespace VmPs.Core.Storage;

/// <summary>Finds the host programs storage needs, naming the package to install when one is missing.</summary>
internal static class HostTools
{
    public static string Require(string program, string package) =>
        DetachedProcess.FindOnPath(program) ?? throw new VmPsException(
            "ToolNotInstalled",
            VmPsErrorKind.NotInstalled,
            $"'{program}' was not found on PATH. Install the package '{package}'.",
            program)
        {
            RecommendedAction = $"apt-get install {package}",
        };
}
