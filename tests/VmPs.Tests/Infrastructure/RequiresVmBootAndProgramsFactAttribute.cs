using VmPs.Tests.Integration;

namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that boots a VM (see <see cref="RequiresVmBootFactAttribute"/>) of an image it builds with root and host programs.</summary>
public sealed class RequiresVmBootAndProgramsFactAttribute : FactAttribute
{
    public RequiresVmBootAndProgramsFactAttribute(params string[] programs)
    {
        Skip = new RequiresVmBootFactAttribute().Skip ?? new RequiresRootAndProgramsFactAttribute(programs).Skip;
    }
}
