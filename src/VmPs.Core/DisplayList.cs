using System.Collections.ObjectModel;

namespace VmPs.Core;

/// <summary>
/// A read-only list that prints as its items (a, b), so a list property of an output object reads as its content
/// where PowerShell shows a value's ToString: Export-Csv's cells, string expansion. A plain list prints its type name.
/// It equals another with the same items: output objects are records, which compare by value (a VM read twice is the
/// same VM), and a list compared by reference would make every two reads differ.
/// </summary>
public sealed class DisplayList<T>(IList<T> items) : ReadOnlyCollection<T>(items), IEquatable<DisplayList<T>>
{
    public override string ToString() => string.Join(", ", this);

    public bool Equals(DisplayList<T>? other) => other is not null && this.SequenceEqual(other);

    public override bool Equals(object? obj) => Equals(obj as DisplayList<T>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in this)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }
}

/// <summary>Makes the lists of output objects <see cref="DisplayList{T}"/>s, as their init accessors take them.</summary>
public static class DisplayList
{
    public static IReadOnlyList<T> Of<T>(IReadOnlyList<T> items) => items as DisplayList<T> ?? new DisplayList<T>([.. items]);
}
