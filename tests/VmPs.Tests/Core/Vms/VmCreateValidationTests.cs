using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

public sealed class VmCreateValidationTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [Theory]
    [InlineData("")]
    [InlineData("-web")]
    [InlineData(".hidden")]
    [InlineData("has space")]
    [InlineData("a/b")]
    [InlineData("ünicode")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    public async Task InvalidNamesAreRefused(string name)
    {
        await AssertRefusedAsync(new VmCreateOptions { Name = name, Image = "busybox" }, "InvalidVmName", VmPsErrorKind.InvalidArgument);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(10_000)]
    public async Task CpuCountOutsideTheHostsRangeIsRefused(int cpus)
    {
        var error = await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "busybox", Cpus = cpus }, "CpuCountOutOfRange", VmPsErrorKind.InvalidArgument);
        Assert.Contains($"1 to {VmValidation.MaxCpus}", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(int.MaxValue)]
    public async Task MemoryOutsideTheHostsRangeIsRefused(int memoryMiB)
    {
        var error = await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "busybox", MemoryMiB = memoryMiB }, "MemoryOutOfRange", VmPsErrorKind.InvalidArgument);
        Assert.Contains($"64 to {VmValidation.ReadHostMemoryMiB()} MiB", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(VmValidation.MaxDiskSizeGiB + 1)]
    public async Task DiskSizeOutOfRangeIsRefused(int sizeGiB)
    {
        await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = sizeGiB }, "DiskSizeOutOfRange", VmPsErrorKind.InvalidArgument);
    }

    [Fact]
    public async Task UnknownImageIsRefused()
    {
        var error = await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "nginx" }, "ImageNotFound", VmPsErrorKind.ObjectNotFound);
        Assert.Contains("busybox", error.Message);
    }

    [RequiresProgramFact("mkfs.erofs")]
    public async Task MissingKernelIsRefused()
    {
        var missing = Path.Combine(home.Paths.Root, "vmlinuz-none");
        await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "busybox", KernelPath = missing }, "KernelNotFound", VmPsErrorKind.ObjectNotFound);
    }

    [Fact]
    public async Task FileThatIsNoKernelIsRefused()
    {
        var error = await AssertRefusedAsync(new VmCreateOptions { Name = "vm", Image = "busybox", KernelPath = "/etc/passwd" }, "KernelFormatUnsupported", VmPsErrorKind.InvalidData);

        Assert.Equal("/etc/passwd", error.Target);
        Assert.Contains("neither a bzImage", error.Message);
    }

    [RequiresProgramFact("mkfs.erofs")]
    public async Task MissingDefaultKernelNamesThePackage()
    {
        var manager = new VmManager(home.Paths, new VmManagerSettings { ProbeHost = (_, _) => Task.FromResult(VmTestHost.QemuHost(kernel: null)) });

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None));

        Assert.Equal("KernelNotFound", error.ErrorId);
        Assert.Contains("linux-image-cloud-amd64", error.RecommendedAction);
        await AssertNothingLeftAsync(manager);
    }

    [RequiresProgramFact("mkfs.erofs")]
    public async Task UninstalledHypervisorIsRefused()
    {
        await AssertRefusedAsync(
            new VmCreateOptions { Name = "vm", Image = "busybox", Hypervisor = HypervisorKind.CloudHypervisor },
            "HypervisorNotInstalled",
            VmPsErrorKind.NotInstalled);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task DuplicateNameInAnyCaseIsRefused()
    {
        var manager = VmTestHost.Manager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = "Web", Image = "busybox" }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(new VmCreateOptions { Name = "WEB", Image = "busybox" }, CancellationToken.None));

        Assert.Equal("VmNameInUse", error.ErrorId);
        Assert.Single(await manager.GetAllAsync(CancellationToken.None));
        Assert.Single(Directory.GetDirectories(home.Paths.VmsDirectory));
    }

    [RequiresProgramFact("mkfs.erofs", "qemu-system-x86_64")]
    public async Task FailureHalfwayLeavesNoRowAndNoDirectory()
    {
        var manager = VmTestHost.Manager(home.Paths, mkfsExt4: "/bin/false");

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None));

        Assert.Equal("ExternalToolFailed", error.ErrorId);
        await AssertNothingLeftAsync(manager);
    }

    public void Dispose() => home.Dispose();

    private async Task<VmPsException> AssertRefusedAsync(VmCreateOptions options, string errorId, VmPsErrorKind kind)
    {
        var manager = VmTestHost.Manager(home.Paths);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(options, CancellationToken.None));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(kind, error.Kind);
        await AssertNothingLeftAsync(manager);
        return error;
    }

    private async Task AssertNothingLeftAsync(VmManager manager)
    {
        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
        Assert.True(!Directory.Exists(home.Paths.VmsDirectory) || Directory.GetFileSystemEntries(home.Paths.VmsDirectory).Length == 0);
    }
}
