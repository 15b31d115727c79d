using System.Text;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Boot;

public sealed class KernelModuleResolverTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresGuestKernelFact]
    public async Task GuestModulesOfTheDebianKernelResolveDependenciesFirst()
    {
        var kernel = RequiresGuestKernelFactAttribute.Kernel;
        var resolver = await KernelModuleResolver.LoadAsync(kernel.ModulesDirectory!, CancellationToken.None);

        var modules = resolver.Resolve(KernelModuleResolver.GuestModules);

        // The load order `modprobe --show-depends` gives on Debian's 6.1 cloud kernel (DESIGN.md), then
        // virtio-fs (host directory shares), the power button's modules, the metadata service's veth and virtio-mem
        // (memory Set-Vm plugs into a running q35 VM).
        string[] expected =
        [
            "virtio_ring", "virtio", "virtio_mmio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
            "virtio_blk", "failover", "net_failover", "virtio_net", "virtio_console", "virtio_rng", "libcrc32c",
            "erofs", "overlay", "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport", "loop",
            "fuse", "virtiofs", "button", "evdev", "veth", "virtio_mem",
        ];
        Assert.Equal(expected, modules.Select(module => module.Name));
        Assert.Equal("virtio-rng.ko", modules.Single(module => module.Name == "virtio_rng").FileName);
        Assert.Equal(["virtio_ring.ko", "virtio.ko"], modules.Single(module => module.Name == "virtio_blk").Dependencies);
        Assert.All(modules, module => Assert.True(File.Exists(module.Path), module.Path));
        Assert.All(modules, module => Assert.StartsWith(kernel.ModulesDirectory!, module.Path));
    }

    [RequiresGuestKernelFact]
    public async Task BuiltInModulesAreSkipped()
    {
        var resolver = await KernelModuleResolver.LoadAsync(RequiresGuestKernelFactAttribute.Kernel.ModulesDirectory!, CancellationToken.None);

        // ext4 is built into Debian's kernels; tmpfs too, but it has no modules.builtin entry.
        Assert.Empty(resolver.Resolve(["ext4"]));
    }

    [RequiresGuestKernelFact]
    public async Task UnknownModuleIsAClearError()
    {
        var resolver = await KernelModuleResolver.LoadAsync(RequiresGuestKernelFactAttribute.Kernel.ModulesDirectory!, CancellationToken.None);

        var error = Assert.Throws<VmPsException>(() => resolver.Resolve(["virtio_blk", "no_such_module"]));

        Assert.Equal("KernelModuleNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.ObjectNotFound, error.Kind);
        Assert.Contains("no_such_module", error.Message);
    }

    [Fact]
    public async Task MissingModulesDepIsAClearError()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => KernelModuleResolver.LoadAsync(scratch.Path, CancellationToken.None));

        Assert.Equal("KernelModulesNotFound", error.ErrorId);
        Assert.Contains("modules.dep", error.Message);
    }

    [RequiresProgramFact("xz")]
    public async Task CompressedModulesAreReadUncompressedUnderTheirKoName()
    {
        var root = scratch.Combine("modules");
        Directory.CreateDirectory(Path.Combine(root, "kernel"));
        var contents = new Dictionary<string, byte[]>
        {
            ["xz_mod"] = Encoding.ASCII.GetBytes("\u007fELF xz module"),
            ["gz-mod"] = Encoding.ASCII.GetBytes("\u007fELF gzip module"),
            ["zst_mod"] = Encoding.ASCII.GetBytes("\u007fELF zstd module"),
        };
        foreach (var (name, bytes) in contents)
        {
            await File.WriteAllBytesAsync(Path.Combine(root, "kernel", name + ".ko"), bytes);
        }

        await ExternalTool.RunCheckedAsync("xz", [Path.Combine(root, "kernel", "xz_mod.ko")], CancellationToken.None);
        await ExternalTool.RunCheckedAsync("gzip", [Path.Combine(root, "kernel", "gz-mod.ko")], CancellationToken.None);
        var zstdModule = Path.Combine(root, "kernel", "zst_mod.ko");
        await File.WriteAllBytesAsync(zstdModule + ".zst", new ZstdSharp.Compressor().Wrap(await File.ReadAllBytesAsync(zstdModule)).ToArray());
        File.Delete(zstdModule);
        await File.WriteAllTextAsync(Path.Combine(root, "modules.dep"),
            "kernel/zst_mod.ko.zst: kernel/gz-mod.ko.gz kernel/xz_mod.ko.xz\nkernel/gz-mod.ko.gz: kernel/xz_mod.ko.xz\nkernel/xz_mod.ko.xz:\n");

        var resolver = await KernelModuleResolver.LoadAsync(root, CancellationToken.None);
        var modules = resolver.Resolve(["zst_mod"]);

        Assert.Equal(["xz_mod.ko", "gz-mod.ko", "zst_mod.ko"], modules.Select(module => module.FileName));
        Assert.Equal(["xz_mod.ko", "gz-mod.ko"], modules[2].Dependencies);
        Assert.Equal(["xz_mod.ko"], modules[1].Dependencies);
        Assert.Empty(modules[0].Dependencies);
        Assert.Equal(
            [KernelModuleCompression.Xz, KernelModuleCompression.Gzip, KernelModuleCompression.Zstd],
            modules.Select(module => module.Compression));
        foreach (var module in modules)
        {
            var expected = contents[Path.GetFileNameWithoutExtension(module.FileName)];
            Assert.Equal(expected, await KernelModuleReader.ReadAsync(module, CancellationToken.None));
        }
    }
}
