using VmPs.Core.Processes;
using VmPs.Tests.Core.Kernels;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.PowerShell;

/// <summary>
/// Runs tests/pester against the built module in a real pwsh, where pwsh and Pester are installed. The Build-VmKernel
/// tests get a state directory holding the machine's cached VmPs kernel ($env:VMPS_PESTER_KERNEL_HOME).
/// </summary>
public sealed class PesterTests(VmPsTestKernel kernel, ITestOutputHelper output) : IClassFixture<VmPsTestKernel>
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
        output.WriteLine(kernel.Report);
        using var kernelHome = new TemporaryVmPsHome();
        var environment = new Dictionary<string, string>();
        if (new RequiresVmPsKernelFactAttribute().Skip is null)
        {
            await kernel.SeedAsync(kernelHome.Paths);
            environment["VMPS_PESTER_KERNEL_HOME"] = kernelHome.Paths.Root;
        }

        var result = await ExternalTool.RunAsync(
            DetachedProcess.FindOnPath("pwsh")!,
            ["-NoProfile", "-NonInteractive", "-WorkingDirectory", ModuleLayout.RepoRoot, "-Command", RunPester],
            CancellationToken.None,
            environment: environment);

        output.WriteLine(result.StandardOutput);
        output.WriteLine(result.StandardError);
        Assert.True(result.ExitCode == 0, $"Pester failed (exit code {result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
    }
}
