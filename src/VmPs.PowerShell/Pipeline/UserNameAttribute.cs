using VmPs.Core.Access;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Pipeline;

/// <summary>User names from the pipeline: names, user objects, objects with a User property (keys, tokens, grants), user rows.</summary>
public sealed class UserNameAttribute : PipelineNameAttribute
{
    protected override Type ConceptType => typeof(VmUser);

    protected override IReadOnlyList<string> ConceptTypeNames => [PSTypeNames.VmUser];

    protected override string Noun => "a user";

    protected override string Source => "user (Get-VmUser)";

    protected override string? ReferenceProperty => "User";

    protected override string NameOf(object concept) => ((VmUser)concept).Name;
}
