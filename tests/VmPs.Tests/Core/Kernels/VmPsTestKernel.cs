using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Kernels;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Kernels;

/// <summary>
/// The real VmPs kernel the tests boot, built by <see cref="KernelBuilder"/> into a cache that lives on the machine,
/// outside the clone ($VMPS_TEST_KERNEL_HOME, default /var/cache/vmps-test-kernel): tests/run builds it before the tests
/// on a machine that has none (this fixture builds it only when the tests run some other way; see kernel/README.md for
/// how long that takes), and every later run, from any clone, reuses it
/// as long as kernel/vmps.config and the source package are unchanged; after a change the tests use the machine's
/// current (stale) VmPs kernel rather than rebuild in the gate. <see cref="Report"/> says which happened.
/// </summary>
public sealed class VmPsTestKernel : IAsyncLifetime
{
    public const string HomeVariable = "VMPS_TEST_KERNEL_HOME";

    /// <summary>The state directory whose kernel cache holds the tests' VmPs kernel.</summary>
    public static string Home => Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } home ? home : "/var/cache/vmps-test-kernel";

    public VmPsKernel Kernel { get; private set; } = null!;

    /// <summary>True when <see cref="Kernel"/> was built from another kernel/vmps.config or source than this clone's.</summary>
    public bool IsStale { get; private set; }

    /// <summary>"VmPs kernel: cached at ... (built in N min on DATE)" or "... built now in N min"; every test class prints it.</summary>
    public string Report { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (new RequiresVmPsKernelFactAttribute().Skip is { } skip)
        {
            Report = $"VmPs kernel: not available ({skip})";
            return;
        }

        var builder = new KernelBuilder(new VmPsPaths(Home));
        var plan = await builder.PlanAsync(new KernelBuildRequest(), CancellationToken.None);
        if (plan.Cached is { } cached)
        {
            Kernel = cached;
            Report = $"VmPs kernel: cached at {cached.Directory} (built in {cached.BuildDuration.TotalMinutes:0} min on {cached.BuiltAt:yyyy-MM-dd})";
            return;
        }

        // A kernel/vmps.config or source change would otherwise rebuild inside the gate (1 h 50 min measured on
        // this loaded 2-core machine): the tests take the machine's current VmPs kernel and say that it is stale.
        if (builder.Cache.Current is { } present)
        {
            Kernel = present;
            IsStale = true;
            Report = $"VmPs kernel: STALE, none cached for key {plan.Key} (this kernel/vmps.config and source); testing the machine's current " +
                $"VmPs kernel {present.Key} at {present.Directory} (built {present.BuiltAt:yyyy-MM-dd}) instead. Rebuild it once: " +
                $"VMPS_HOME={Home} pwsh -c 'Import-Module ./out/VmPs; Build-VmKernel'";
            return;
        }

        var building = Stopwatch.StartNew();
        Kernel = await builder.BuildAsync(plan, force: false, progress: null, CancellationToken.None);
        Report = $"VmPs kernel: was not cached; built {Kernel.Release} into {Kernel.Directory} in {building.Elapsed.TotalMinutes:0} min (later runs reuse it)";
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Puts a copy of the kernel into <paramref name="home"/>'s kernel cache as its current kernel, as Build-VmKernel would.</summary>
    public async Task<VmPsKernel> SeedAsync(VmPsPaths home)
    {
        var cache = new KernelCache(home);
        using (await cache.LockAsync(CancellationToken.None))
        {
            var stage = cache.CreateWorkDirectory(KernelCache.StageDirectoryPrefix, Kernel.Key);
            foreach (var file in Directory.EnumerateFiles(Kernel.Directory))
            {
                File.Copy(file, Path.Combine(stage, Path.GetFileName(file)));
            }

            return cache.Publish(stage, Kernel.Key);
        }
    }
}

/// <summary>
/// A test that boots the real VmPs kernel: it needs what any VM boot needs and the kernel source (to build the kernel,
/// or to find it cached: the source's version is part of the key). Missing ones are named in the skip; tests/run
/// installs the build tools.
/// </summary>
public sealed class RequiresVmPsKernelFactAttribute : FactAttribute
{
    public RequiresVmPsKernelFactAttribute()
    {
        Skip = new RequiresVmBootFactAttribute().Skip ?? MissingKernel();
    }

    // Even a cached kernel needs the source: its package version is part of the cache key.
    private static string? MissingKernel() =>
        KernelSource.FindDefault() is null ? $"skipped: no kernel source in {KernelSource.DefaultDirectory} (apt-get install linux-source-6.1)" : null;
}
