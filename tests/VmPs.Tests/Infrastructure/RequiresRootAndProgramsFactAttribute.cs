using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that needs root (to set owners other than its own) and host programs.</summary>
public sealed class RequiresRootAndProgramsFactAttribute : FactAttribute
{
    public RequiresRootAndProgramsFactAttribute(params string[] programs)
    {
        var missing = programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "skipped: needs root";
        }
        else if (missing.Length > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not on PATH";
        }
    }
}
