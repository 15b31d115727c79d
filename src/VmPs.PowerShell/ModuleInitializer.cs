using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell;

/// <summary>Runs when pwsh imports the module: lets the runtime find the native libraries in the module folder.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly Assembly ModuleAssembly = typeof(ModuleInitializer).Assembly;

    private static AssemblyLoadContext LoadContext => AssemblyLoadContext.GetLoadContext(ModuleAssembly) ?? AssemblyLoadContext.Default;

    public void OnImport() => LoadContext.ResolvingUnmanagedDll += ResolveFromModuleFolder;

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        LoadContext.ResolvingUnmanagedDll -= ResolveFromModuleFolder;
        ModuleServices.Clear();
    }

    private static IntPtr ResolveFromModuleFolder(Assembly requestingAssembly, string libraryName)
    {
        var moduleDirectory = Path.GetDirectoryName(ModuleAssembly.Location);
        return moduleDirectory is not null && NativeLibraryProbe.Locate(moduleDirectory, libraryName) is { } path
            ? NativeLibrary.Load(path)
            : IntPtr.Zero;
    }
}
