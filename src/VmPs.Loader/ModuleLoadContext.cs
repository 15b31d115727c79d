using System.Reflection;
using System.Runtime.Loader;

namespace VmPs.Loader;

/// <summary>
/// The private load context of one VmPs module folder. The engine (VmPs.Core, VmPs.Protocol) and the libraries it
/// uses (Microsoft.Data.Sqlite, SQLitePCLRaw and the native SQLite) load from the folder's bin/ into it, so a module
/// that loaded other versions of those libraries into pwsh's default context neither breaks VmPs nor is broken by
/// it. The cmdlet assembly stays in the default context, as PowerShell expects of a binary module, and finds the
/// engine through the default context's Resolving event (the pattern of PSResourceGet and Microsoft's guide to
/// module dependency conflicts). It references only our own assemblies, so nothing else of the module can come
/// from another module.
/// </summary>
internal sealed class ModuleLoadContext : AssemblyLoadContext
{
    /// <summary>The folder of a module folder that holds the engine, its libraries and the guest binary.</summary>
    public const string BinFolderName = "bin";

    // Contexts by bin folder: once per folder and process, however often the module is imported (-Force, new
    // runspaces, ForEach-Object -Parallel). Only successful loads are kept: a repaired folder loads on the next try.
    private static readonly Dictionary<string, ModuleLoadContext> Contexts = new(StringComparer.Ordinal);

    // What pwsh itself provides (the framework, System.Management.Automation and pwsh's own libraries).
    private static readonly HashSet<string> PlatformAssemblies = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(Path.GetFileNameWithoutExtension)
        .ToHashSet(StringComparer.OrdinalIgnoreCase)!;

    private readonly string binDirectory;

    private ModuleLoadContext(string binDirectory)
        : base($"VmPs {binDirectory}")
    {
        this.binDirectory = binDirectory;
    }

    /// <summary>
    /// Loads every assembly of <paramref name="binDirectory"/> with its references, and every native library, into its
    /// context, so a damaged folder (a file missing, corrupt or of the wrong version) fails the import with a
    /// <see cref="ModuleLoadException"/> naming the file rather than a cmdlet later; then has the default context
    /// resolve those assemblies from it.
    /// </summary>
    public static void Install(string binDirectory)
    {
        lock (Contexts)
        {
            if (Contexts.ContainsKey(binDirectory))
            {
                return;
            }

            var context = new ModuleLoadContext(binDirectory);
            context.LoadAll();
            Default.Resolving += context.ResolveForDefault;
            ScriptTypeNames.Register(context.Assemblies);
            Contexts.Add(binDirectory, context);
        }
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = AssemblyPath(assemblyName);
        if (File.Exists(path))
        {
            return LoadFromAssemblyPath(path);
        }

        // What pwsh provides comes from the default context, so the engine shares PowerShell's own types. Anything
        // else belongs in bin: taking it from the default context would take whatever version another module loaded.
        return IsPlatformAssembly(assemblyName)
            ? null
            : throw new FileNotFoundException($"The module does not have '{assemblyName.Name}' ({assemblyName.Version}).", path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        NativeLibraryLocator.Locate(binDirectory, unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;

    // The default context asks only for what it cannot find itself: the cmdlet assembly's references to the engine.
    private Assembly? ResolveForDefault(AssemblyLoadContext defaultContext, AssemblyName assemblyName) =>
        File.Exists(AssemblyPath(assemblyName)) ? LoadFromAssemblyName(assemblyName) : null;

    private static bool IsPlatformAssembly(AssemblyName assemblyName) => PlatformAssemblies.Contains(assemblyName.Name ?? "");

    private Assembly LoadChecked(AssemblyName assemblyName)
    {
        try
        {
            return LoadFromAssemblyName(assemblyName);
        }
        catch (Exception exception) when (exception is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ModuleLoadException(AssemblyPath(assemblyName), exception);
        }
    }

    private string AssemblyPath(AssemblyName assemblyName) => Path.Combine(binDirectory, $"{assemblyName.Name}.dll");

    private void LoadAll()
    {
        if (!Directory.Exists(binDirectory))
        {
            throw new ModuleLoadException(binDirectory, new DirectoryNotFoundException($"The folder '{binDirectory}' does not exist."));
        }

        foreach (var path in Directory.EnumerateFiles(binDirectory, "*.dll"))
        {
            var assembly = LoadChecked(new AssemblyName(Path.GetFileNameWithoutExtension(path)));
            // What pwsh provides is left to load when first used: loading it here would only slow the import.
            foreach (var reference in assembly.GetReferencedAssemblies().Where(reference => !IsPlatformAssembly(reference)))
            {
                LoadChecked(reference);
            }
        }

        foreach (var path in NativeLibraryLocator.Shipped(binDirectory))
        {
            try
            {
                LoadUnmanagedDllFromPath(path);
            }
            catch (Exception exception) when (exception is DllNotFoundException or BadImageFormatException)
            {
                throw new ModuleLoadException(path, exception);
            }
        }
    }
}
