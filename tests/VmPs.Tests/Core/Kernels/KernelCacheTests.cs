using VmPs.Core.Kernels;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Kernels;

public sealed class KernelCacheTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_published_entry_becomes_current_and_describes_its_files()
    {
        var kernel = await CacheEntries.PublishAsync(home.Paths, "6.1.1-1-aaaaaaaaaaaa", "6.1.1-vmps");
        var cache = new KernelCache(home.Paths);

        Assert.Equal(kernel, cache.Current);
        Assert.Equal(kernel, KernelCache.Describe(kernel.BzImagePath));
        Assert.Equal(kernel, KernelCache.Describe(kernel.VmlinuxPath));
        Assert.Null(KernelCache.Describe(kernel.ConfigPath));
        var info = kernel.ToKernelInfo();
        Assert.Equal((kernel.BzImagePath, "6.1.1-vmps", null, kernel.VmlinuxPath), (info.Path, info.Version, info.ModulesDirectory, info.VmlinuxPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, new DirectoryInfo(cache.Directory).UnixFileMode);
    }

    [Fact]
    public async Task Publishing_the_same_key_again_replaces_the_entry_in_one_exchange()
    {
        var first = await CacheEntries.PublishAsync(home.Paths, "6.1.1-1-aaaaaaaaaaaa", "6.1.1-vmps");
        var second = await CacheEntries.PublishAsync(home.Paths, "6.1.1-1-aaaaaaaaaaaa", "6.1.1-vmps");
        var cache = new KernelCache(home.Paths);

        Assert.NotEqual(first.BuiltAt, second.BuiltAt);
        Assert.Equal(second, cache.Current);
        Assert.Empty(Directory.EnumerateDirectories(cache.Directory, ".*"));
    }

    [Fact]
    public async Task A_half_written_entry_is_never_selected()
    {
        await CacheEntries.PublishAsync(home.Paths, "6.1.1-1-aaaaaaaaaaaa", "6.1.1-vmps");
        var cache = new KernelCache(home.Paths);
        var halfWritten = Path.Combine(cache.Directory, "6.1.1-1-bbbbbbbbbbbb");
        Directory.CreateDirectory(halfWritten);
        File.WriteAllText(Path.Combine(halfWritten, VmPsKernel.BzImageFileName), "part of a kernel");

        Assert.Null(cache.Find("6.1.1-1-bbbbbbbbbbbb"));
        Assert.Null(KernelCache.Describe(Path.Combine(halfWritten, VmPsKernel.BzImageFileName)));

        // Even a link pointing at it (a hand-made one: VmPs links only published entries) selects nothing.
        File.Delete(Path.Combine(cache.Directory, KernelCache.CurrentLinkName));
        File.CreateSymbolicLink(Path.Combine(cache.Directory, KernelCache.CurrentLinkName), "6.1.1-1-bbbbbbbbbbbb");
        Assert.Null(cache.ReadCurrent(out var problem));
        Assert.Contains("not a complete kernel", problem);
    }

    [Fact]
    public void An_empty_cache_has_no_current_kernel_and_no_problem()
    {
        Assert.Null(new KernelCache(home.Paths).ReadCurrent(out var problem));
        Assert.Null(problem);
    }
}
