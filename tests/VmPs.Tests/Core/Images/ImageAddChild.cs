using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

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
        Console.WriteLine($"peak-kib {TestChildProcess.PeakKiB()}");
        Environment.Exit(0);
    }

    /// <summary>
    /// Runs the child to its end (see <see cref="TestChildProcess"/>): its "result" and "peak-kib" lines, empty when it
    /// died first (killed at <paramref name="crashAt"/>, say), and its exit code.
    /// </summary>
    public static async Task<(IReadOnlyDictionary<string, string> Lines, int ExitCode, string Stderr)> RunAsync(
        VmPsPaths paths, string source, string name, string? crashAt = null)
    {
        var environment = new Dictionary<string, string> { [HomeVariable] = paths.Root, [SourceVariable] = source, [NameVariable] = name };
        if (crashAt is not null)
        {
            environment[CrashPoint.EnvironmentVariable] = crashAt;
        }

        var (stdout, exitCode, stderr) = await TestChildProcess.RunAsync(environment);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);
        return (lines, exitCode, stderr);
    }
}
