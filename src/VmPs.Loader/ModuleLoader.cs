using System.Management.Automation;

namespace VmPs.Loader;

/// <summary>
/// The module's first nested module (VmPs.psd1): pwsh imports it before the cmdlet assembly, and its OnImport sets
/// up the private load context the cmdlets' engine comes from.
/// </summary>
public sealed class ModuleLoader : IModuleAssemblyInitializer
{
    public void OnImport()
    {
        var moduleDirectory = Path.GetDirectoryName(typeof(ModuleLoader).Assembly.Location)!;
        try
        {
            ModuleLoadContext.Install(Path.Combine(moduleDirectory, ModuleLoadContext.BinFolderName));
        }
        catch (ModuleLoadException exception)
        {
            throw new ModuleLoadFailedException(exception);
        }
    }
}
