using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.PowerShell;

/// <summary>Runs tests/pester against the built module in a real pwsh, where pwsh and Pester are installed.</summary>
public sealed class PesterTests(ITestOutputHelper output)
{
    [RequiresPesterFact]
    public async Task The_Pester_tests_of_the_cmdlets_pass()
    {
        const string RunPester = """
            $PSStyle.OutputRendering = 'PlainText'
            $configuration = New-PesterConfiguration
            $configuration.Run.Path = 'tests/pester'
            $configuration.Run.Exit = $true
            $configuration.Output.Verbosity = 'Detailed'
            Invoke-Pester -Configuration $configuration
            """;
        var result = await ExternalTool.RunAsync(
            DetachedProcess.FindOnPath("pwsh")!,
            ["-NoProfile", "-NonInteractive", "-WorkingDirectory", ModuleLayout.RepoRoot, "-Command", RunPester],
            CancellationToken.None);

        output.WriteLine(result.StandardOutput);
        output.WriteLine(result.StandardError);
        Assert.True(result.ExitCode == 0, $"Pester failed (exit code {result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
    }
}
