using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// A New-VmImage in a process of its own (`dotnet VmPs.Tests.dll` with DOTNET_STARTUP_HOOKS, see StartupHook): the
/// hostile-image tests measure its peak RSS alone, the crash tests kill it at a crash point (VMPS_CRASH_AT). It adds
/// the source ("archive:PATH" or "registry:REFERENCE") as image "NAME" and prints "result ERRORID|ok|crash:TYPE" and
/// "peak-kib N".
/// </summary>
public static class ImageAddChild
{
    private const string HomeVariable = "VMPS_TEST_IMAGE_HOME";
    private const string SourceVariable = "VMPS_TEST_IMAGE_SOURCE";
    private const string NameVariable = "VMPS_TEST_IMAGE_NAME";

    public static void RunIfRequested()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (home is null)
        {
            return;
        }

        var source = Environment.GetEnvironmentVariable(SourceVariable)!.Split(':', 2);
        IImageSource image = source[0] == "archive"
            ? new DockerArchiveImageSource(source[1], null)
            : new RegistryImageSource(ImageReference.Parse(source[1]), null, OciPlatform.Default, insecure: false);
        string result;
        try
        {
            new ImageManager(new VmPsPaths(home))
                .AddAsync(image, new ImageAddOptions { Name = Environment.GetEnvironmentVariable(NameVariable) }, null, CancellationToken.None)
                .GetAwaiter().GetResult();
            result = "ok";
        }
        catch (VmPsException ex)
        {
            result = ex.ErrorId;
        }
        catch (Exception ex)
        {
            result = "crash:" + ex.GetType().Name;
        }

        Console.WriteLine($"result {result}");
        var peak = File.ReadAllLines("/proc/self/status").Single(line => line.StartsWith("VmHWM:", StringComparison.Ordinal));
        Console.WriteLine($"peak-kib {peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]}");
        Environment.Exit(0);
    }

    /// <summary>
    /// Runs the child to its end: its "result" and "peak-kib" lines, empty when it died first (killed at
    /// <paramref name="crashAt"/>, say), and its exit code. Its GC heap is capped at 768 MiB, so a regression that
    /// buffers what it should stream fails the child instead of taking the machine's memory.
    /// </summary>
    public static async Task<(IReadOnlyDictionary<string, string> Lines, int ExitCode, string Stderr)> RunAsync(
        VmPsPaths paths, string source, string name, string? crashAt = null)
    {
        var testAssembly = typeof(ImageAddChild).Assembly.Location;
        var start = new ProcessStartInfo("dotnet", [testAssembly]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_STARTUP_HOOKS"] = testAssembly;
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x30000000";
        start.Environment[HomeVariable] = paths.Root;
        start.Environment[SourceVariable] = source;
        start.Environment[NameVariable] = name;
        if (crashAt is not null)
        {
            start.Environment[CrashPoint.EnvironmentVariable] = crashAt;
        }

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);
        return (lines, child.ExitCode, await stderr);
    }
}
