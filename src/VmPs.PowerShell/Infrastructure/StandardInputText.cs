using System.Management.Automation;
using System.Text;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// The bytes a pipeline object gives a guest command's stdin, as pwsh feeds a native command: each object as
/// a line of text (UTF-8), except byte arrays, which go as they are.
/// </summary>
internal static class StandardInputText
{
    public static ReadOnlyMemory<byte> ToBytes(object item) => PSObject.AsPSObject(item).BaseObject switch
    {
        byte[] bytes => bytes,
        var value => Encoding.UTF8.GetBytes(LanguagePrimitives.ConvertTo<string>(value) + "\n"),
    };
}
