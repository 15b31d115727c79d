using VmPs.Tests.PowerShell;

namespace VmPs.Tests.Repository;

/// <summary>docs/ARCHITECTURE.md keeps up with the code: every folder of the engine is in its table of concepts.</summary>
public sealed class ArchitectureDocTests
{
    [Fact]
    public void Every_folder_of_VmPs_Core_has_a_row_in_the_architecture_s_folder_table()
    {
        var architecture = File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "docs", "ARCHITECTURE.md"));
        var folders = Directory.GetDirectories(Path.Combine(ModuleLayout.RepoRoot, "src", "VmPs.Core"))
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj"));

        Assert.Empty(folders.Where(folder => !architecture.Contains($"| `{folder}/` |", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }
}
