using System.Collections;
using System.Management.Automation;

namespace VmPs.PowerShell.Pipeline;

/// <summary>
/// Turns what a pipeline carries into names of one concept (VMs, images or networks) and refuses everything
/// else, so that binding never crosses types: a network's or a process's Name never becomes a VM name.
/// Accepted: strings; objects of the concept (VmInfo for VMs); objects that name the concept in their
/// <see cref="ReferenceProperty"/> (a VmCommandResult's VmName); and plain rows (Import-Csv, Select-Object)
/// with a Name property, unless they were made from another VmPs type.
/// </summary>
/// <remarks>
/// Used on parameters that take pipeline input by value only: by-property-name binding would match any
/// object's Name property, which is the cross-type accident this prevents. An object refused here leaves the
/// binder free to try the command's other pipeline parameters; when none takes it, the error is InputObjectNotBound.
/// </remarks>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public abstract class PipelineNameAttribute : ArgumentTransformationAttribute
{
    private const string ModuleTypePrefix = "VmPs.";
    private static readonly string[] DerivedTypePrefixes = ["Selected.", "Deserialized.", "CSV:"];

    /// <summary>The objects this concept's cmdlets output (VmInfo for VMs).</summary>
    protected abstract Type ConceptType { get; }

    /// <summary>The type names the module gives those objects (VmPs.Vm), which rows made from them keep.</summary>
    protected abstract IReadOnlyList<string> ConceptTypeNames { get; }

    /// <summary>"a VM", "an image", for the error.</summary>
    protected abstract string Noun { get; }

    /// <summary>The cmdlet whose objects to pass, for the error.</summary>
    protected abstract string Source { get; }

    /// <summary>The property through which other objects name the concept (VmName), or null.</summary>
    protected virtual string? ReferenceProperty => null;

    protected abstract string NameOf(object concept);

    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) =>
        PSObject.AsPSObject(inputData).BaseObject is IEnumerable items and not string
            ? items.Cast<object>().Select(Name).ToArray()
            : Name(inputData);

    private string Name(object item)
    {
        var value = PSObject.AsPSObject(item);
        if (value.BaseObject is string name)
        {
            return name;
        }

        if (ConceptType.IsInstanceOfType(value.BaseObject))
        {
            return NameOf(value.BaseObject);
        }

        if (ReferenceProperty is { } reference && value.Properties[reference] is { } referenceProperty)
        {
            return Text(referenceProperty.Value) ?? throw NotAConcept(value, $"its {reference} is empty");
        }

        if (value.BaseObject is PSCustomObject && !MadeFromAnotherModuleType(value) && value.Properties["Name"] is { } nameProperty)
        {
            return Text(nameProperty.Value) ?? throw NotAConcept(value, "its Name is empty");
        }

        throw NotAConcept(value, null);
    }

    private bool MadeFromAnotherModuleType(PSObject value) =>
        value.TypeNames.Select(Underlying).Any(typeName =>
            typeName.StartsWith(ModuleTypePrefix, StringComparison.Ordinal)
            && typeName != ConceptType.FullName
            && !ConceptTypeNames.Contains(typeName));

    private static string Underlying(string typeName) =>
        DerivedTypePrefixes.FirstOrDefault(prefix => typeName.StartsWith(prefix, StringComparison.Ordinal)) is { } prefix ? typeName[prefix.Length..] : typeName;

    private static string? Text(object? value) =>
        value is null ? null : LanguagePrimitives.ConvertTo<string>(value) is { Length: > 0 } text ? text : null;

    private ArgumentTransformationMetadataException NotAConcept(PSObject value, string? why)
    {
        var typeName = value.TypeNames.Count > 0 ? value.TypeNames[0] : value.BaseObject.GetType().FullName;
        var reason = why ?? "it is not one";
        var accepted = ReferenceProperty is { } reference
            ? $"{Source} objects, names, objects with a {reference} property, or rows with a Name column"
            : $"{Source} objects, names, or rows with a Name column";
        var message = $"A {typeName} cannot stand for {Noun}: {reason}. Pass {accepted}.";

        // A cast failure inside is what tells the pipeline binder to try the next parameter (Get-Vm's -Network for a
        // piped network) instead of failing the whole binding; bound by argument it still reads as this message.
        return new ArgumentTransformationMetadataException(message, new PSInvalidCastException(message));
    }
}
