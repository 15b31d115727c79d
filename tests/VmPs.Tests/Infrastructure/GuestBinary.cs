namespace VmPs.Tests.Infrastructure;

/// <summary>Locates the published NativeAOT guest binary (vmps-guest) the agent and VM tests run.</summary>
public static class GuestBinary
{
    public const string EnvironmentVariable = "VMPS_GUEST_BINARY";

    public static string Path => Find() ?? throw new InvalidOperationException(
        $"The guest binary vmps-guest was not found. Set {EnvironmentVariable}, or build it with " +
        "'dotnet build' (which publishes it to out/VmPs/guest/vmps-guest) or 'dotnet publish guest/VmPs.Guest -c Release'. " +
        $"Looked in: {string.Join(", ", Candidates())}");

    private static string? Find() => Candidates().FirstOrDefault(File.Exists);

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            yield return configured;
        }

        var root = RepositoryRoot();
        yield return System.IO.Path.Combine(root, "out", "VmPs", "guest", "vmps-guest");
        yield return System.IO.Path.Combine(root, "guest", "VmPs.Guest", "bin", "Release", "net8.0", "linux-x64", "publish", "vmps-guest");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "VmPs.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No VmPs.sln above {AppContext.BaseDirectory}.");
    }
}
