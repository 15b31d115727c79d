using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Tests.Guest;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Boot;

public sealed class GuestBinaryTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void OverrideWinsOverTheModuleFolder()
    {
        var overridePath = CreateFile("custom-guest");
        CreateFile("guest", "vmps-guest");

        Assert.Equal(overridePath, GuestBinary.Locate(overridePath, scratch.Path));
    }

    [Fact]
    public void BinaryBesideTheAssemblyIsFound()
    {
        var beside = CreateFile("guest", "vmps-guest");

        Assert.Equal(beside, GuestBinary.Locate(null, scratch.Path));
    }

    [Fact]
    public void OverridePointingNowhereIsAClearError()
    {
        CreateFile("guest", "vmps-guest");

        var error = Assert.Throws<VmPsException>(() => GuestBinary.Locate(scratch.Combine("missing"), scratch.Path));

        Assert.Equal("GuestBinaryNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains(GuestBinary.EnvironmentVariable, error.Message);
    }

    [Fact]
    public void NoBinaryAnywhereIsAClearError()
    {
        var error = Assert.Throws<VmPsException>(() => GuestBinary.Locate(null, scratch.Path));

        Assert.Equal("GuestBinaryNotFound", error.ErrorId);
        Assert.Contains(Path.Combine(scratch.Path, "guest", "vmps-guest"), error.Message);
        Assert.NotNull(error.RecommendedAction);
    }

    private string CreateFile(params string[] parts)
    {
        var path = scratch.Combine(parts);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "binary");
        return path;
    }
}
