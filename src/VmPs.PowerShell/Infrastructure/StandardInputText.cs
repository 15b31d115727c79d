using System.Collections;
using System.Management.Automation;
using System.Text;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// The bytes an input object gives a guest command's stdin, as pwsh feeds a native command: each object (each
/// element of a collection) as a line of UTF-8 text, except byte arrays, which go as they are.
/// </summary>
internal static class StandardInputText
{
    public static ReadOnlyMemory<byte> ToBytes(object item) => PSObject.AsPSObject(item).BaseObject switch
    {
        byte[] bytes => bytes,
        string text => Line(text),
        IEnumerable items => items.Cast<object?>().SelectMany(element => Line(LanguagePrimitives.ConvertTo<string>(element)).ToArray()).ToArray(),
        var value => Line(LanguagePrimitives.ConvertTo<string>(value)),
    };

    private static ReadOnlyMemory<byte> Line(string? text) => Encoding.UTF8.GetBytes(text + "\n");
}
