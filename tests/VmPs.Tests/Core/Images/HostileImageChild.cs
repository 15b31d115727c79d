using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// The child side of <see cref="HostileImageTests"/> (see StartupHook): adds a docker archive as an image the way
/// New-VmImage -Path does, in a process of its own so its peak RSS is the pipeline's alone, and prints
/// "result ERRORID|ok|crash:TYPE" and "peak-kib N".
/// </summary>
public static class HostileImageChild
{
    public const string HomeVariable = "VMPS_TEST_HOSTILE_HOME";
    public const string ArchiveVariable = "VMPS_TEST_HOSTILE_ARCHIVE";

    public static void RunIfRequested()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (home is null)
        {
            return;
        }

        string result;
        try
        {
            new ImageManager(new VmPsPaths(home))
                .AddAsync(new DockerArchiveImageSource(Environment.GetEnvironmentVariable(ArchiveVariable)!, null), new ImageAddOptions { Name = "hostile" }, null, CancellationToken.None)
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
}
