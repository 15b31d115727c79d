namespace VmPs.Tests.Infrastructure;

/// <summary>A theory with the prerequisites of <see cref="RequiresNetworkFactAttribute"/> (typically run once per firewall).</summary>
public sealed class RequiresNetworkTheoryAttribute : TheoryAttribute
{
    public RequiresNetworkTheoryAttribute()
    {
        Skip = NetworkTestPrerequisites.SkipReason();
    }
}
