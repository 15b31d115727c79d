using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Boot;

public sealed class KernelLocatorTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresGuestKernelFact]
    public async Task VersionReadFromTheBzImageHeaderMatchesTheInstalledKernel()
    {
        var installed = RequiresGuestKernelFactAttribute.Kernel;

        var resolved = await KernelLocator.ResolveAsync(installed.Path, CancellationToken.None);

        Assert.Equal(installed, resolved);
    }

    [Fact]
    public void DefaultKernelIsTheNewestOneWithModules()
    {
        var boot = scratch.Combine("boot");
        var modules = scratch.Combine("modules");
        foreach (var version in new[] { "6.1.0-9-amd64", "6.1.0-10-amd64", "6.2.0-1-amd64" })
        {
            Directory.CreateDirectory(boot);
            File.WriteAllText(Path.Combine(boot, "vmlinuz-" + version), "kernel");
        }

        Directory.CreateDirectory(Path.Combine(modules, "6.1.0-9-amd64"));
        Directory.CreateDirectory(Path.Combine(modules, "6.1.0-10-amd64"));

        var kernel = KernelLocator.FindDefault(boot, modules);

        Assert.Equal(new KernelInfo(Path.Combine(boot, "vmlinuz-6.1.0-10-amd64"), "6.1.0-10-amd64", Path.Combine(modules, "6.1.0-10-amd64")), kernel);
    }

    [Fact]
    public void NoKernelWithModulesGivesNone()
    {
        Directory.CreateDirectory(scratch.Combine("boot"));
        File.WriteAllText(scratch.Combine("boot", "vmlinuz-6.1.0-9-amd64"), "kernel");

        Assert.Null(KernelLocator.FindDefault(scratch.Combine("boot"), scratch.Combine("modules")));
    }

    [Fact]
    public async Task ElfVmlinuxVersionComesFromItsBannerEvenAcrossReadBoundaries()
    {
        var path = scratch.Combine("vmlinux");
        // Starts a few bytes before the 1 MiB read boundary, so the banner is split across reads.
        await File.WriteAllBytesAsync(path, TestVmlinux.Build("6.9.1-test+", bannerOffset: (1 << 20) - 5, length: (1 << 20) + 4096));
        Directory.CreateDirectory(scratch.Combine("modules", "6.9.1-test+"));

        var kernel = await KernelLocator.ResolveAsync(path, CancellationToken.None, scratch.Combine("modules"));

        Assert.Equal("6.9.1-test+", kernel.Version);
        Assert.Equal(scratch.Combine("modules", "6.9.1-test+"), kernel.ModulesDirectory);
    }

    [Fact]
    public async Task KernelWithoutModulesDirectoryResolvesWithNone()
    {
        var path = scratch.Combine("vmlinux");
        await File.WriteAllBytesAsync(path, TestVmlinux.Build("5.15.0-custom"));

        var kernel = await KernelLocator.ResolveAsync(path, CancellationToken.None, scratch.Combine("modules"));

        Assert.Equal("5.15.0-custom", kernel.Version);
        Assert.Null(kernel.ModulesDirectory);
    }

    [Fact]
    public async Task FileThatIsNoKernelIsRejected()
    {
        var path = scratch.Combine("notes.txt");
        await File.WriteAllTextAsync(path, "this is not a kernel");

        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelLocator.ResolveAsync(path, CancellationToken.None));

        Assert.Equal("KernelFormatUnsupported", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidData, error.Kind);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/bin/ls")]
    public async Task HostFileThatIsNoKernelIsRejectedNamingTheFormats(string path)
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelLocator.ResolveAsync(path, CancellationToken.None));

        Assert.Equal("KernelFormatUnsupported", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidData, error.Kind);
        Assert.Contains("is not a bootable x86-64 Linux kernel", error.Message);
    }

    [Fact]
    public async Task VmlinuxForAnotherMachineIsRejected()
    {
        var path = scratch.Combine("vmlinux-arm64");
        await File.WriteAllBytesAsync(path, TestVmlinux.Build("6.1.0-arm64", machine: 183));

        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelLocator.ResolveAsync(path, CancellationToken.None));

        Assert.Equal("KernelFormatUnsupported", error.ErrorId);
        Assert.Contains("not x86-64", error.Message);
    }

    [Fact]
    public async Task VmlinuxWithoutThePvhEntryNoteIsRejected()
    {
        var path = scratch.Combine("vmlinux-no-pvh");
        await File.WriteAllBytesAsync(path, TestVmlinux.Build("6.1.0-nopvh", pvhNote: false));

        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelLocator.ResolveAsync(path, CancellationToken.None));

        Assert.Equal("KernelFormatUnsupported", error.ErrorId);
        Assert.Contains("PVH", error.Message);
    }

    [Fact]
    public async Task MissingKernelIsRejected()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelLocator.ResolveAsync(scratch.Combine("absent"), CancellationToken.None));

        Assert.Equal("KernelNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.ObjectNotFound, error.Kind);
    }
}
