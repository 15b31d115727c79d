namespace VmPs.Core.Boot;

/// <summary>Finds vmps-guest, the NativeAOT program that is PID 1 and agent inside every VM.</summary>
public static class GuestBinary
{
    public const string EnvironmentVariable = "VMPS_GUEST_BINARY";
    public const string FileName = "vmps-guest";

    /// <summary>$VMPS_GUEST_BINARY, else guest/vmps-guest beside VmPs.Core.dll (the module folder layout).</summary>
    public static string Locate() => Locate(
        Environment.GetEnvironmentVariable(EnvironmentVariable),
        Path.GetDirectoryName(typeof(GuestBinary).Assembly.Location) ?? AppContext.BaseDirectory);

    internal static string Locate(string? overridePath, string assemblyDirectory)
    {
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            return File.Exists(overridePath)
                ? Path.GetFullPath(overridePath)
                : throw NotFound($"${EnvironmentVariable} points to '{overridePath}', which does not exist.", overridePath);
        }

        var besideAssembly = Path.Combine(assemblyDirectory, "guest", FileName);
        return File.Exists(besideAssembly)
            ? besideAssembly
            : throw NotFound($"The guest binary was not found at '{besideAssembly}' and ${EnvironmentVariable} is not set.", besideAssembly);
    }

    private static VmPsException NotFound(string message, string path) =>
        new(VmPsErrorIds.GuestBinaryNotFound, VmPsErrorKind.NotInstalled, message, path)
        {
            RecommendedAction = $"Build the module (dotnet build produces guest/{FileName} in the module folder) or set ${EnvironmentVariable} to the published guest binary.",
        };
}
