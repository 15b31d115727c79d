using System.Runtime.InteropServices;

namespace VmPs.Loader;

/// <summary>
/// Finds the native libraries shipped under bin/runtimes/&lt;rid&gt;/native. An application finds them through its
/// deps.json; pwsh has none for a module, so without this SQLitePCLRaw's "e_sqlite3" would not load.
/// </summary>
internal static class NativeLibraryLocator
{
    public static string RuntimeIdentifier => $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

    /// <summary>The path of <paramref name="libraryName"/> ("e_sqlite3" or "libe_sqlite3.so") under <paramref name="binDirectory"/>, or null.</summary>
    public static string? Locate(string binDirectory, string libraryName)
    {
        var fileName = Path.GetFileName(libraryName);
        if (!fileName.EndsWith(".so", StringComparison.Ordinal) && !fileName.Contains(".so.", StringComparison.Ordinal))
        {
            fileName = $"lib{fileName}.so";
        }

        var candidate = Path.Combine(NativeDirectory(binDirectory), fileName);
        return File.Exists(candidate) ? candidate : null;
    }

    /// <summary>Every native library shipped for this machine's architecture.</summary>
    public static IEnumerable<string> Shipped(string binDirectory)
    {
        var directory = NativeDirectory(binDirectory);
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*.so*") : [];
    }

    private static string NativeDirectory(string binDirectory) => Path.Combine(binDirectory, "runtimes", RuntimeIdentifier, "native");
}
