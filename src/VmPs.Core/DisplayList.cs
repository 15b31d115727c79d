using System.Collections.ObjectModel;

namespace VmPs.Core;

/// <summary>
/// A read-only list that prints as its items (a, b), so a list property of an output object reads as its content
/// where PowerShell shows a value's ToString: Export-Csv's cells, string expansion. A plain list prints its type name.
/// </summary>
public sealed class DisplayList<T>(IList<T> items) : ReadOnlyCollection<T>(items)
{
    public override string ToString() => string.Join(", ", this);
}

/// <summary>Makes the lists of output objects <see cref="DisplayList{T}"/>s, as their init accessors take them.</summary>
public static class DisplayList
{
    public static IReadOnlyList<T> Of<T>(IReadOnlyList<T> items) => items as DisplayList<T> ?? new DisplayList<T>([.. items]);
}
