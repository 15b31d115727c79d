using VmPs.Core;
using VmPs.Core.Kernels;

namespace VmPs.Tests.Core.Kernels;

/// <summary>
/// Complete cache entries with placeholder kernel files, published through the cache itself: for the tests of the
/// cache's selection and of a failed build keeping the previous kernel, which never boot them.
/// </summary>
internal static class CacheEntries
{
    public static async Task<VmPsKernel> PublishAsync(VmPsPaths home, string key, string release)
    {
        var cache = new KernelCache(home);
        using (await cache.LockAsync(CancellationToken.None))
        {
            var stage = cache.CreateWorkDirectory(KernelCache.StageDirectoryPrefix, key);
            File.WriteAllText(Path.Combine(stage, VmPsKernel.BzImageFileName), "placeholder bzImage");
            File.WriteAllText(Path.Combine(stage, VmPsKernel.VmlinuxFileName), "placeholder vmlinux");
            File.WriteAllText(Path.Combine(stage, VmPsKernel.ConfigFileName), "CONFIG_64BIT=y\n");
            new VmPsKernel
            {
                Key = key,
                Release = release,
                SourcePath = "/usr/src/linux-source-6.1.tar.xz",
                SourceVersion = key[..key.LastIndexOf('-')],
                ConfigHash = new string('a', 64),
                BuiltAt = DateTimeOffset.UtcNow,
                BuildDuration = TimeSpan.FromMinutes(12),
                CompileSteps = 1200,
            }.WriteManifest(stage);
            return cache.Publish(stage, key);
        }
    }
}
