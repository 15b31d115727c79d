using System.Reflection;
using System.Runtime.InteropServices;

namespace VmPs.Tests.PowerShell;

/// <summary>
/// The built cmdlet assembly opened for inspection only (MetadataLoadContext): its attributes can be read
/// here although System.Management.Automation cannot run outside pwsh.
/// </summary>
internal sealed class CmdletMetadata : IDisposable
{
    private readonly MetadataLoadContext context;

    public CmdletMetadata()
    {
        var runtimeAssemblies = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll");
        var moduleAssemblies = Directory.GetFiles(ModuleLayout.ModuleDirectory, "*.dll").Concat(Directory.GetFiles(ModuleLayout.BinDirectory, "*.dll"));
        context = new MetadataLoadContext(
            new PathAssemblyResolver([.. runtimeAssemblies, .. moduleAssemblies, ModuleLayout.PowerShellReferencePath]),
            typeof(object).Assembly.GetName().Name);
        Assembly = context.LoadFromAssemblyPath(ModuleLayout.CmdletAssemblyPath);
        PowerShell = context.LoadFromAssemblyName("System.Management.Automation");
    }

    public Assembly Assembly { get; }

    public Assembly PowerShell { get; }

    /// <summary>Every cmdlet class: concrete types carrying [Cmdlet].</summary>
    public IReadOnlyList<CmdletClass> Cmdlets() =>
        Assembly.GetTypes()
            .Where(type => !type.IsAbstract)
            .Select(type => (Type: type, Attribute: type.GetCustomAttributesData().SingleOrDefault(IsNamed("CmdletAttribute"))))
            .Where(pair => pair.Attribute is not null)
            .Select(pair => new CmdletClass(pair.Type, pair.Attribute!))
            .ToList();

    /// <summary>PowerShell's approved verbs: the constants of its Verbs* classes.</summary>
    public IReadOnlySet<string> ApprovedVerbs() =>
        PowerShell.GetTypes()
            .Where(type => type.Namespace == "System.Management.Automation" && type.Name.StartsWith("Verbs", StringComparison.Ordinal))
            .SelectMany(type => type.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(field => field.IsLiteral)
            .Select(field => (string)field.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);

    public IReadOnlySet<string> ErrorCategoryNames() =>
        PowerShell.GetType("System.Management.Automation.ErrorCategory", throwOnError: true)!.GetEnumNames().ToHashSet(StringComparer.Ordinal);

    public void Dispose() => context.Dispose();

    public static Func<CustomAttributeData, bool> IsNamed(string attributeName) =>
        attribute => attribute.AttributeType.Name == attributeName;
}

internal sealed record CmdletClass(Type Type, CustomAttributeData Attribute)
{
    public string Verb => (string)Attribute.ConstructorArguments[0].Value!;

    public string Noun => (string)Attribute.ConstructorArguments[1].Value!;

    public string Name => $"{Verb}-{Noun}";

    public T? Named<T>(string argument) =>
        Attribute.NamedArguments.Where(named => named.MemberName == argument).Select(named => (T?)named.TypedValue.Value).FirstOrDefault();

    public IReadOnlyList<string> OutputTypeNames() =>
        Type.GetCustomAttributesData()
            .Where(CmdletMetadata.IsNamed("OutputTypeAttribute"))
            .SelectMany(attribute => (IEnumerable<CustomAttributeTypedArgument>)attribute.ConstructorArguments[0].Value!)
            .Select(argument => ((Type)argument.Value!).FullName!)
            .ToList();

    /// <summary>The cmdlet's own parameters (inherited ones included), without the common parameters.</summary>
    public IReadOnlyList<string> ParameterNames() =>
        Type.GetProperties()
            .Where(property => property.GetCustomAttributesData().Any(CmdletMetadata.IsNamed("ParameterAttribute")))
            .Select(property => property.Name)
            .ToList();

    public PropertyInfo Parameter(string name) =>
        Type.GetProperty(name) ?? throw new Xunit.Sdk.XunitException($"{Name} has no -{name} parameter.");
}
