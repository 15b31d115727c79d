using System.Management.Automation;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell;

/// <summary>Runs when pwsh removes the module: drops the services it kept, so a new import starts afresh.</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => ModuleServices.Clear();
}
