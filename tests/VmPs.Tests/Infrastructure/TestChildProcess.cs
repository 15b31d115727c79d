using System.Diagnostics;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A test's work in a process of its own: `dotnet VmPs.Tests.dll` with DOTNET_STARTUP_HOOKS (see StartupHook), whose
/// environment says what to run. Its GC heap is capped at 768 MiB, so a regression that buffers what it should
/// stream fails the child instead of taking the machine's memory, and its peak RSS is its own.
/// </summary>
public static class TestChildProcess
{
    public static async Task<(string Stdout, int ExitCode, string Stderr)> RunAsync(IReadOnlyDictionary<string, string> environment)
    {
        var testAssembly = typeof(TestChildProcess).Assembly.Location;
        var start = new ProcessStartInfo("dotnet", [testAssembly]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_STARTUP_HOOKS"] = testAssembly;
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x30000000";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        return (stdout, child.ExitCode, await stderr);
    }

    /// <summary>This process's peak resident set (VmHWM) in KiB.</summary>
    public static long PeakKiB()
    {
        var peak = File.ReadAllLines("/proc/self/status").Single(line => line.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Starts this process's peak resident set again from its current size (Linux 4.0+).</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");
}
