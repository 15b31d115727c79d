using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.PowerShell;

// Import-Module time of the built VmPs (its loader and private load context) against binary modules that ship with
// pwsh, each measured inside a new pwsh process, so every import is a first one. Subjects alternate within a run.
var runs = args.Length == 2 && args[0] == "--runs" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
var pwsh = Pwsh.Path;
var moduleDirectory = ModuleLayout.ModuleDirectory;
var stateDirectory = Directory.CreateTempSubdirectory("vmps-importbench-").FullName;

Subject[] subjects =
[
    new("peer: Import-Module Microsoft.PowerShell.PSResourceGet (binary, dependencies in their own folder)", "Import-Module Microsoft.PowerShell.PSResourceGet"),
    new("peer: Import-Module Microsoft.PowerShell.ThreadJob (one small binary assembly)", "Import-Module Microsoft.PowerShell.ThreadJob"),
    new("vmps: Import-Module out/VmPs (loader + private load context)", $"Import-Module '{moduleDirectory}'"),
    new("vmps: Import-Module out/VmPs, then the first Get-Vm (empty state)", $"Import-Module '{moduleDirectory}'; $null = Get-Vm"),
];

try
{
    Console.WriteLine($"pwsh {pwsh}, {runs} runs after one warm-up, each import in a new pwsh process");
    var samples = subjects.ToDictionary(subject => subject, _ => new List<TimeSpan>());
    for (var run = -1; run < runs; run++)
    {
        foreach (var subject in subjects)
        {
            var elapsed = await MeasureAsync(subject.Script);
            if (run >= 0)
            {
                samples[subject].Add(elapsed);
            }
        }
    }

    var width = subjects.Max(subject => subject.Name.Length);
    var baseline = BenchStatistics.Median(samples[subjects[0]]);
    Console.WriteLine($"{"import".PadRight(width)}   median      p90   ratio");
    foreach (var subject in subjects)
    {
        var median = BenchStatistics.Median(samples[subject]);
        Console.WriteLine($"{subject.Name.PadRight(width)} {median.TotalMilliseconds,6:0.0}ms {BenchStatistics.Percentile(samples[subject], 90).TotalMilliseconds,6:0.0}ms {median / baseline,6:0.00}x");
    }

    var vmpsImport = BenchStatistics.Median(samples[subjects[2]]);
    Console.WriteLine($"target: VmPs imports in under 300 ms: {(vmpsImport < TimeSpan.FromMilliseconds(300) ? "met" : "NOT met")} ({vmpsImport.TotalMilliseconds:0} ms)");
}
finally
{
    Directory.Delete(stateDirectory, recursive: true);
}

// The time the script's import took, measured by a stopwatch inside the new pwsh (its own start is not counted).
async Task<TimeSpan> MeasureAsync(string script)
{
    var result = await ExternalTool.RunCheckedAsync(
        pwsh,
        ["-NoProfile", "-NonInteractive", "-Command", $"$ErrorActionPreference = 'Stop'; $env:VMPS_HOME = '{stateDirectory}'; $watch = [Diagnostics.Stopwatch]::StartNew(); {script}; $watch.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)"],
        CancellationToken.None);
    return TimeSpan.FromMilliseconds(double.Parse(result.StandardOutput.Trim(), CultureInfo.InvariantCulture));
}

internal sealed record Subject(string Name, string Script);
