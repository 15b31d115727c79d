namespace VmPs.Tests.PowerShell;

/// <summary>Where the build puts the module folder, and the files the module is made of.</summary>
internal static class ModuleLayout
{
    public static readonly string RepoRoot = FindRepoRoot();

    public static readonly string ModuleDirectory = Path.Combine(RepoRoot, "out", "VmPs");

    /// <summary>The engine and its libraries: VmPs.Loader loads them into the module's private load context.</summary>
    public static readonly string BinDirectory = Path.Combine(ModuleDirectory, "bin");

    public static readonly string ManifestPath = Path.Combine(ModuleDirectory, "VmPs.psd1");

    public static readonly string FormatFilePath = Path.Combine(ModuleDirectory, "VmPs.Format.ps1xml");

    public static readonly string TypesFilePath = Path.Combine(ModuleDirectory, "VmPs.Types.ps1xml");

    public static readonly string CmdletAssemblyPath = Path.Combine(ModuleDirectory, "VmPs.PowerShell.dll");

    public static readonly string NativeSqlitePath = Path.Combine(BinDirectory, "runtimes", "linux-x64", "native", "libe_sqlite3.so");

    /// <summary>PowerShellStandard's reference assembly, copied beside the tests: enough to read cmdlet attributes.</summary>
    public static readonly string PowerShellReferencePath = Path.Combine(AppContext.BaseDirectory, "PowerShellReference", "System.Management.Automation.dll");

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "VmPs.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No VmPs.sln above {AppContext.BaseDirectory}.");
    }
}
