using System.Management.Automation;
using System.Reflection;

namespace VmPs.Loader;

/// <summary>
/// Lets scripts name the module's public types by their full names ([VmPs.Core.Vms.VmState]::Running, -is, -as).
/// PowerShell resolves type names only in its default load context, so each type becomes a type accelerator of
/// its own full name. TypeAccelerators has no public API; its Add method is the one every module uses for this.
/// </summary>
internal static class ScriptTypeNames
{
    // The assemblies whose public types are the module's surface: what cmdlets take and output.
    private static readonly string[] SurfaceAssemblies = ["VmPs.Core", "VmPs.Protocol"];

    public static void Register(IEnumerable<Assembly> loaded)
    {
        var add = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators")
            ?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(Type)]);
        if (add is null)
        {
            // A PowerShell without it still runs the module; only the type names are missing.
            return;
        }

        foreach (var assembly in loaded.Where(assembly => SurfaceAssemblies.Contains(assembly.GetName().Name)))
        {
            foreach (var type in assembly.GetExportedTypes().Where(type => type.FullName is not null && !type.IsNested))
            {
                add.Invoke(null, [type.FullName, type]);
            }
        }

        // Accelerators are never removed on Remove-Module: they are process-wide, another runspace may still use
        // the module, and the types stay valid (a load context that is not collectible never unloads).
    }
}
