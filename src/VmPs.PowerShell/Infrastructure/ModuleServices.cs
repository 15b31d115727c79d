using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using VmPs.Core;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// The module's composition roots: one <see cref="VmPsServices"/> per installation the session has
/// used, keyed by the resolved <see cref="VmPsSettings"/>. Each command takes the one its environment
/// names when it starts, so changing $VMPS_HOME, $VMPS_NETNS or $VMPS_FIREWALL between commands takes
/// effect at the next command, and going back finds the earlier one again. Runspaces of the process
/// (ForEach-Object -Parallel, thread jobs) share them; removing the module drops them.
/// </summary>
internal static class ModuleServices
{
    private static readonly ConcurrentDictionary<VmPsSettings, Lazy<IVmPsServices>> Roots = new();
    private static readonly ConditionalWeakTable<Runspace, IVmPsServices> RunspaceServices = new();

    /// <summary>The services of the calling pipeline thread's runspace: its own when given one, else the environment's.</summary>
    public static IVmPsServices Current =>
        Runspace.DefaultRunspace is { } runspace && RunspaceServices.TryGetValue(runspace, out var services)
            ? services
            : ForSettings(VmPsSettings.FromEnvironment());

    public static IVmPsServices ForSettings(VmPsSettings settings) =>
        Roots.GetOrAdd(settings, key => new Lazy<IVmPsServices>(() => new VmPsServices(key))).Value;

    /// <summary>Gives one runspace its own services (cmdlet tests give fakes); commands started in it use them.</summary>
    public static void Use(Runspace runspace, IVmPsServices services) => RunspaceServices.AddOrUpdate(runspace, services);

    /// <summary>The module is being removed: the next import starts afresh.</summary>
    public static void Clear() => Roots.Clear();
}
