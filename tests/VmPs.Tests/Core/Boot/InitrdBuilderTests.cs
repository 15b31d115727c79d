using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Boot;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InitrdBuilderTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly VmPsPaths paths;
    private readonly string guestBinary;

    public InitrdBuilderTests()
    {
        paths = new VmPsPaths(scratch.Combine("state"));
        // The builder treats the guest binary as opaque bytes; any file stands in for it here.
        guestBinary = scratch.Combine("vmps-guest");
        File.WriteAllBytes(guestBinary, [0x7F, (byte)'E', (byte)'L', (byte)'F', 1, 2, 3]);
    }

    public void Dispose() => scratch.Dispose();

    [RequiresGuestKernelFact("cpio")]
    public async Task InitrdHoldsInitModulesInLoadOrderAndTheConsoleNode()
    {
        var kernel = RequiresGuestKernelFactAttribute.Kernel;

        var initrd = await new InitrdBuilder(paths).BuildAsync(guestBinary, kernel, CancellationToken.None);

        Assert.StartsWith(paths.InitrdCacheDirectory, initrd);
        var extracted = await ExtractAsync(initrd);
        Assert.Equal(await File.ReadAllBytesAsync(guestBinary), await File.ReadAllBytesAsync(Path.Combine(extracted, "init")));
        Assert.True(File.GetUnixFileMode(Path.Combine(extracted, "init")).HasFlag(UnixFileMode.UserExecute));

        var resolver = await KernelModuleResolver.LoadAsync(kernel.ModulesDirectory!, CancellationToken.None);
        var expectedOrder = resolver.Resolve(KernelModuleResolver.GuestModules)
            .Select(module => string.Join(' ', [module.FileName, .. module.Dependencies]))
            .ToArray();
        var order = await File.ReadAllLinesAsync(Path.Combine(extracted, "vmps/modules/order"));
        Assert.Equal(expectedOrder, order);
        foreach (var module in resolver.Resolve(KernelModuleResolver.GuestModules))
        {
            Assert.Equal(await File.ReadAllBytesAsync(module.Path), await File.ReadAllBytesAsync(Path.Combine(extracted, "vmps/modules", module.FileName)));
        }

        foreach (var directory in new[] { "proc", "sys", "dev", "run", "tmp", "newroot" })
        {
            Assert.True(Directory.Exists(Path.Combine(extracted, directory)), directory);
        }

        var listing = (await ExternalTool.RunCheckedAsync("cpio", ["-tv", "--quiet", "-F", initrd], CancellationToken.None)).StandardOutput;
        Assert.Matches(@"(?m)^crw-------\s+1\s+root\s+root\s+5,\s+1\s.*\sdev/console$", listing);
    }

    [RequiresGuestKernelFact]
    public async Task SameInputsHitTheCacheAndADifferentGuestBinaryDoesNot()
    {
        var kernel = RequiresGuestKernelFactAttribute.Kernel;
        var builder = new InitrdBuilder(paths);

        var first = await builder.BuildAsync(guestBinary, kernel, CancellationToken.None);
        var writtenAt = File.GetLastWriteTimeUtc(first);
        var second = await builder.BuildAsync(guestBinary, kernel, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(second));

        await File.AppendAllTextAsync(guestBinary, "changed");
        var third = await builder.BuildAsync(guestBinary, kernel, CancellationToken.None);

        Assert.NotEqual(first, third);
        Assert.Equal(2, Directory.GetFiles(paths.InitrdCacheDirectory).Length);
    }

    [RequiresGuestKernelFact("cpio")]
    public async Task ConcurrentBuildsAgreeOnOneCompleteFile()
    {
        var kernel = RequiresGuestKernelFactAttribute.Kernel;

        var paths = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => new InitrdBuilder(this.paths).BuildAsync(guestBinary, kernel, CancellationToken.None))));

        Assert.Single(paths.Distinct());
        Assert.Equal([paths[0]], Directory.GetFiles(this.paths.InitrdCacheDirectory));
        var extracted = await ExtractAsync(paths[0]);
        Assert.Equal(await File.ReadAllBytesAsync(guestBinary), await File.ReadAllBytesAsync(Path.Combine(extracted, "init")));
    }

    [Fact]
    public async Task TheInitrdIsAnUncompressedNewcCpio()
    {
        var initrd = await new InitrdBuilder(paths).BuildAsync(guestBinary, new KernelInfo("/nonexistent/vmlinuz", "6.9.0-custom", ModulesDirectory: null), CancellationToken.None);

        Assert.EndsWith(".cpio", initrd);
        var magic = new byte[6];
        await using (var file = File.OpenRead(initrd))
        {
            await file.ReadExactlyAsync(magic);
        }

        Assert.Equal("070701"u8.ToArray(), magic);
    }

    [Fact]
    public async Task KernelWithoutModulesGetsAnInitrdWithoutAModulesDirectory()
    {
        var kernel = new KernelInfo("/nonexistent/vmlinuz", "6.9.0-custom", ModulesDirectory: null);

        var initrd = await new InitrdBuilder(paths).BuildAsync(guestBinary, kernel, CancellationToken.None);

        using var cpio = new MemoryStream(await File.ReadAllBytesAsync(initrd));

        var entries = System.Text.Encoding.ASCII.GetString(cpio.ToArray());
        Assert.Contains("init", entries);
        Assert.DoesNotContain("vmps/modules", entries);
        Assert.DoesNotContain(".ko", entries);
    }

    [Fact]
    public async Task MissingGuestBinaryIsAClearError()
    {
        var kernel = new KernelInfo("/nonexistent/vmlinuz", "6.9.0-custom", ModulesDirectory: null);

        var error = await Assert.ThrowsAsync<VmPsException>(() => new InitrdBuilder(paths).BuildAsync(scratch.Combine("absent"), kernel, CancellationToken.None));

        Assert.Equal("GuestBinaryNotFound", error.ErrorId);
    }

    private async Task<string> ExtractAsync(string initrd)
    {
        var target = scratch.Combine("extracted-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(target);
        await ExternalTool.RunCheckedAsync("cpio", ["-idm", "--quiet", "-D", target, "-F", initrd, "--nonmatching", "dev/console"], CancellationToken.None);
        return target;
    }
}
