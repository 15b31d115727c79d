using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// The pwsh that tests drive. tests/run installs pwsh 7.6.10 as a .NET global tool and names it in VMPS_TEST_PWSH;
/// run alone, the tests look in ~/.dotnet/tools, then on PATH. PowerShell installs here, so a test never skips
/// for it: without one it fails, saying how to install it.
/// </summary>
internal static class Pwsh
{
    public static string Path => Locate();

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("VMPS_TEST_PWSH") is { Length: > 0 } named)
        {
            return named;
        }

        var tool = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "pwsh");
        return File.Exists(tool)
            ? tool
            : DetachedProcess.FindOnPath("pwsh")
                ?? throw new InvalidOperationException("pwsh is not installed: bash tests/run installs it (dotnet tool install --global PowerShell --version 7.6.10).");
    }
}
