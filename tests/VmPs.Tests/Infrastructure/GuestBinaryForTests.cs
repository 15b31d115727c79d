using System.Runtime.CompilerServices;
using VmPs.Core.Guest;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// Points Core's <see cref="GuestBinary.Locate()"/> at the guest binary this checkout built, unless
/// VMPS_GUEST_BINARY already names one: `dotnet build` publishes it into the module folder
/// out/VmPs/guest/vmps-guest.
/// </summary>
internal static class GuestBinaryForTests
{
    [ModuleInitializer]
    internal static void UseCheckoutBuild()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(GuestBinary.EnvironmentVariable)))
        {
            return;
        }

        var root = RepositoryRoot.Path;
        var built = new[]
        {
            Path.Combine(root, "out", "VmPs", "guest", GuestBinary.FileName),
            Path.Combine(root, "guest", "VmPs.Guest", "bin", "Release", "net8.0", "linux-x64", "publish", GuestBinary.FileName),
        }.FirstOrDefault(File.Exists);
        if (built is not null)
        {
            Environment.SetEnvironmentVariable(GuestBinary.EnvironmentVariable, built);
        }
    }
}

internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
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
