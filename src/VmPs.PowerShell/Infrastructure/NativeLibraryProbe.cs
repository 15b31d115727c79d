using System.Runtime.InteropServices;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Finds native libraries shipped in the module folder under runtimes/&lt;rid&gt;/native. A .NET application
/// finds them through its deps.json; pwsh has none for a module, so without this the P/Invokes of
/// SQLitePCLRaw ("e_sqlite3") would fail to load.
/// </summary>
internal static class NativeLibraryProbe
{
    public static string RuntimeIdentifier => $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

    /// <summary>The path of <paramref name="libraryName"/> ("e_sqlite3" or "libe_sqlite3.so") in the module folder, or null.</summary>
    public static string? Locate(string moduleDirectory, string libraryName)
    {
        var fileName = Path.GetFileName(libraryName);
        if (!fileName.EndsWith(".so", StringComparison.Ordinal) && !fileName.Contains(".so.", StringComparison.Ordinal))
        {
            fileName = $"lib{fileName}.so";
        }

        var candidate = Path.Combine(moduleDirectory, "runtimes", RuntimeIdentifier, "native", fileName);
        return File.Exists(candidate) ? candidate : null;
    }
}
