using System.Text.RegularExpressions;
using VmPs.Tests.PowerShell;

namespace VmPs.Tests.Repository;

/// <summary>
/// The README's two commands, the set-up and the test gate, are exactly what CI (.ci/run) runs on a fresh clone, so
/// a green CI shows that a new user's first command and the documented test command work.
/// </summary>
public sealed partial class ReadmeCommandsTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "README.md"));

    [Fact]
    public void The_README_s_first_command_is_the_set_up_and_its_test_command_is_the_gate()
    {
        Assert.Equal(["bash build/setup.sh", "bash tests/run"], [FirstCommand(Readme), FirstCommand(Section(Readme, "Tests"))]);
    }

    [Fact]
    public void CI_runs_exactly_the_README_s_two_commands_in_order()
    {
        var ciCommands = File.ReadAllLines(Path.Combine(ModuleLayout.RepoRoot, ".ci", "run"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("set ", StringComparison.Ordinal) && !line.StartsWith("cd ", StringComparison.Ordinal))
            .Select(line => line.StartsWith("exec ", StringComparison.Ordinal) ? line["exec ".Length..] : line);

        Assert.Equal([FirstCommand(Readme), FirstCommand(Section(Readme, "Tests"))], ciCommands);
    }

    [Theory]
    [InlineData("build/setup.sh")]
    [InlineData("tests/run")]
    public void Each_command_s_script_is_in_the_repository_and_stops_at_the_first_failure(string script)
    {
        var text = File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, script));

        Assert.StartsWith("#!/usr/bin/env bash\n", text);
        Assert.Contains("\nset -euo pipefail\n", text);
    }

    [Fact]
    public void The_set_up_installs_with_build_ps1_and_runs_the_main_job_on_the_module_imported_by_name()
    {
        var setup = File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "build", "setup.sh"));

        Assert.Contains("-File build.ps1 -Task Install", setup);
        Assert.Contains("Import-Module VmPs\n", setup);
        Assert.Matches(@"New-Vm -Name \$name -Image busybox \| Start-Vm -PassThru \| Invoke-VmCommand", setup);
    }

    /// <summary>The first line of the first fenced code block.</summary>
    private static string FirstCommand(string markdown) => FencedBlock().Match(markdown).Groups["first"].Value.Trim();

    private static string Section(string markdown, string heading)
    {
        var start = markdown.IndexOf($"\n## {heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"The README has no '## {heading}' section.");
        return markdown[start..];
    }

    [GeneratedRegex(@"^```[a-z]*\n(?<first>[^\n]*)\n", RegexOptions.Multiline)]
    private static partial Regex FencedBlock();
}
