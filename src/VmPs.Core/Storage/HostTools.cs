using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Storage;

/// <summary>Finds the host programs storage needs, naming the package to install when one is missing.</summary>
internal static class HostTools
{
    public static string Require(HostToolDefinition tool) =>
        DetachedProcess.FindOnPath(tool.Name, HostToolCatalog.DefaultSearchPath()) ?? throw new VmPsException(
            VmPsErrorIds.ToolNotInstalled,
            VmPsErrorKind.NotInstalled,
            $"'{tool.Name}' ({tool.Purpose}) was not found. Install the package '{tool.Package}'.",
            tool.Name)
        {
            RecommendedAction = $"apt-get install {tool.Package}",
        };
}
