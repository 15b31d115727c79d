using VmPs.Core.Processes;

namespace VmPs.Tests.Integration;

/// <summary>A VM boot test that also drives pwsh on a pseudo-terminal: it needs pwsh and script (util-linux) on PATH.</summary>
public sealed class RequiresVmBootAndPwshFactAttribute : FactAttribute
{
    public RequiresVmBootAndPwshFactAttribute()
    {
        var missing = new[] { "pwsh", "script" }.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        Skip = new RequiresVmBootFactAttribute().Skip
            ?? (missing.Length > 0 ? $"skipped: {string.Join(", ", missing)} not on PATH" : null);
    }
}
