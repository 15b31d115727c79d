using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Kernels;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Kernels;

/// <summary>
/// Builds that fail or are interrupted, with the real builder and real tools (tar, xz, gzip, make's absence): the
/// previous kernel stays current, the error says why and what stays in use, and nothing of the build is left.
/// </summary>
public sealed class KernelBuilderFailureTests : IDisposable
{
    private const string PreviousKey = "6.1.0-1-aaaaaaaaaaaa";

    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        home.Dispose();
        scratch.Dispose();
    }

    [Fact]
    public async Task Missing_build_tools_are_named_with_their_packages_and_the_previous_kernel_stays()
    {
        var previous = await CacheEntries.PublishAsync(home.Paths, PreviousKey, "6.1.0-vmps");
        var emptyPath = Directory.CreateDirectory(scratch.Combine("empty-path")).FullName;
        var builder = new KernelBuilder(home.Paths, new KernelBuilderOptions { SearchPath = emptyPath });

        var error = await Assert.ThrowsAsync<VmPsException>(async () =>
            await builder.BuildAsync(await builder.PlanAsync(new KernelBuildRequest { SourcePath = await SmallSourceAsync(".tar.xz") }, default), false, null, default));

        Assert.Equal(("KernelBuildToolsMissing", VmPsErrorKind.NotInstalled), (error.ErrorId, error.Kind));
        Assert.Contains("make (make), gcc (gcc)", error.Message);
        Assert.Contains("xz (xz-utils)", error.Message);
        Assert.Contains("apt-get install make gcc binutils", error.RecommendedAction);
        Assert.Contains($"The previous VmPs kernel (6.1.0-vmps, built {previous.BuiltAt.ToLocalTime():yyyy-MM-dd HH:mm}) stays in use.", error.Message);
        AssertUnchanged(previous);
    }

    [Fact]
    public async Task A_corrupt_source_fails_the_extraction_with_the_tools_own_words_and_leaves_nothing()
    {
        var previous = await CacheEntries.PublishAsync(home.Paths, PreviousKey, "6.1.0-vmps");
        var source = await SmallSourceAsync(".tar.gz");
        await using (var file = File.OpenWrite(source))
        {
            file.SetLength(file.Length / 2);
        }

        var error = await Assert.ThrowsAsync<VmPsException>(() => BuildAsync(new KernelBuildRequest { SourcePath = source }));

        Assert.Equal(("KernelBuildFailed", VmPsErrorKind.InvalidOperation), (error.ErrorId, error.Kind));
        Assert.Contains($"while extracting {source}", error.Message);
        Assert.Contains("Unexpected EOF", error.Message);
        Assert.Contains("Build log: " + new KernelCache(home.Paths).BuildLogPath, error.Message);
        Assert.Contains("Unexpected EOF", File.ReadAllText(new KernelCache(home.Paths).BuildLogPath));
        AssertUnchanged(previous);
    }

    [Fact]
    public async Task Without_a_previous_kernel_the_error_says_VMs_keep_the_distro_kernel()
    {
        var source = await SmallSourceAsync(".tar.gz");
        File.WriteAllText(source, "not gzip at all");

        var error = await Assert.ThrowsAsync<VmPsException>(() => BuildAsync(new KernelBuildRequest { SourcePath = source }));

        Assert.Contains("New VMs keep booting the distro kernel.", error.Message);
        Assert.Null(new KernelCache(home.Paths).Current);
    }

    [RequiresProgramFact("tar", "xz")]
    public async Task An_interrupted_build_kills_its_processes_and_keeps_the_previous_kernel()
    {
        var previous = await CacheEntries.PublishAsync(home.Paths, PreviousKey, "6.1.0-vmps");
        // A big source, so that the extraction is still running when the build is cancelled.
        var source = KernelSource.FindDefault() ?? await SmallSourceAsync(".tar.xz", megabytes: 96);
        using var cancellation = new CancellationTokenSource();
        var extracting = new Progress<VmProgress>(update =>
        {
            if (update.Status.StartsWith("Extracting", StringComparison.Ordinal) && update.PercentComplete >= 2)
            {
                cancellation.Cancel();
            }
        });
        var builder = new KernelBuilder(home.Paths, new KernelBuilderOptions { RequiredFreeBytes = 0 });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await builder.BuildAsync(await builder.PlanAsync(new KernelBuildRequest { SourcePath = source }, default), false, extracting, cancellation.Token));

        AssertUnchanged(previous);
        Assert.True(await WaitUntilAsync(() => HostProcesses.Mentioning(home.Paths.KernelsDirectory).Count == 0), "a build process is still running");
    }

    [RequiresRootFact]
    public async Task A_full_disk_is_reported_as_no_space_before_and_during_the_build()
    {
        var mount = Directory.CreateDirectory(scratch.Combine("small-disk")).FullName;
        await ExternalTool.RunCheckedAsync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "vmps-test-small-disk", mount], default);
        try
        {
            var small = new VmPsPaths(mount);
            var previous = await CacheEntries.PublishAsync(small, PreviousKey, "6.1.0-vmps");
            var source = await SmallSourceAsync(".tar.gz", megabytes: 16);

            var beforehand = await Assert.ThrowsAsync<VmPsException>(() => BuildAsync(new KernelBuildRequest { SourcePath = source }, small));
            var during = await Assert.ThrowsAsync<VmPsException>(() => BuildAsync(new KernelBuildRequest { SourcePath = source }, small, requiredFreeBytes: 0));

            Assert.Equal(("KernelBuildNoSpace", VmPsErrorKind.ResourceUnavailable), (beforehand.ErrorId, beforehand.Kind));
            Assert.Contains("needs about 2560 MiB free", beforehand.Message);
            Assert.Equal(("KernelBuildNoSpace", VmPsErrorKind.ResourceUnavailable), (during.ErrorId, during.Kind));
            Assert.Contains("the file system is full", during.Message);
            Assert.Equal(previous, new KernelCache(small).Current);
            Assert.Empty(Directory.EnumerateDirectories(small.KernelsDirectory, ".*"));
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", [mount], default);
        }
    }

    [RequiresProgramFact("setsid", "sleep")]
    public async Task The_next_build_removes_what_a_killed_build_left_and_stops_its_processes()
    {
        var previous = await CacheEntries.PublishAsync(home.Paths, PreviousKey, "6.1.0-vmps");
        var cache = new KernelCache(home.Paths);
        var leftBuild = Directory.CreateDirectory(Path.Combine(cache.Directory, KernelCache.BuildDirectoryPrefix + "6.1.0-1-bbbbbbbbbbbb-0123")).FullName;
        var leftStage = Directory.CreateDirectory(Path.Combine(cache.Directory, KernelCache.StageDirectoryPrefix + "6.1.0-1-bbbbbbbbbbbb-4567")).FullName;
        File.WriteAllText(Path.Combine(leftStage, VmPsKernel.BzImageFileName), "half a kernel");
        // What a build whose pwsh was killed leaves running: a process group of its own, recorded in the pid file.
        using var orphan = Process.Start("setsid", ["sleep", "600"]);
        var identity = new ProcessIdentity(orphan.Id, ProcessProbe.ReadStartTime(orphan.Id)!.Value);
        File.WriteAllText(Path.Combine(leftBuild, KernelBuildCommand.PidFileName), $"{identity.Pid} {identity.StartTime}");

        var emptyPath = Directory.CreateDirectory(scratch.Combine("empty-path")).FullName;
        var builder = new KernelBuilder(home.Paths, new KernelBuilderOptions { SearchPath = emptyPath });
        await Assert.ThrowsAsync<VmPsException>(async () =>
            await builder.BuildAsync(await builder.PlanAsync(new KernelBuildRequest { SourcePath = await SmallSourceAsync(".tar.xz") }, default), false, null, default));

        Assert.False(Directory.Exists(leftBuild));
        Assert.False(Directory.Exists(leftStage));
        Assert.True(orphan.WaitForExit(TimeSpan.FromMinutes(1)));
        AssertUnchanged(previous);
    }

    private Task<VmPsKernel> BuildAsync(KernelBuildRequest request, VmPsPaths? paths = null, long? requiredFreeBytes = null)
    {
        var options = new KernelBuilderOptions();
        var builder = new KernelBuilder(paths ?? home.Paths, requiredFreeBytes is { } bytes ? options with { RequiredFreeBytes = bytes } : options);
        return Task.Run(async () => await builder.BuildAsync(await builder.PlanAsync(request, default), false, null, default));
    }

    /// <summary>Polls with a generous deadline: killed processes disappear from /proc a moment after the kill.</summary>
    private static async Task<bool> WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    private void AssertUnchanged(VmPsKernel previous)
    {
        var cache = new KernelCache(home.Paths);
        Assert.Equal(previous, cache.Current);
        Assert.Empty(Directory.EnumerateDirectories(cache.Directory, ".*"));
    }

    /// <summary>A real tarball (one top-level directory, random content) made with tar, in the test's scratch directory.</summary>
    private async Task<string> SmallSourceAsync(string suffix, int megabytes = 1)
    {
        var tree = Directory.CreateDirectory(scratch.Combine("tree", "linux-source-test")).FullName;
        var content = new byte[megabytes << 20];
        Random.Shared.NextBytes(content);
        await File.WriteAllBytesAsync(Path.Combine(tree, "Makefile"), content);
        var tarball = scratch.Combine("linux-source-test" + suffix);
        await ExternalTool.RunCheckedAsync("tar", ["-c", suffix == ".tar.xz" ? "-J" : "-z", "-f", tarball, "-C", scratch.Combine("tree"), "linux-source-test"], default);
        Directory.Delete(scratch.Combine("tree"), recursive: true);
        return tarball;
    }
}
