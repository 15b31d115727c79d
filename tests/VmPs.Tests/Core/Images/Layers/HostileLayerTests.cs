using VmPs.Core;
using VmPs.Core.Images.Layers;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Layers;

/// <summary>
/// Layers that try to write outside the root: names that climb out are refused by name; links are resolved by the
/// kernel inside the root as in a chroot, so what goes through them lands inside. The outside stays untouched.
/// </summary>
public sealed class HostileLayerTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public HostileLayerTests()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Sentinel);
    }

    private string Root => scratch.Combine("root");

    private string Sentinel => scratch.Combine("outside-sentinel-dir");

    public static TheoryData<string, string, TestLayer> EscapingLayers() => new()
    {
        { "parent traversal", "../escape", new TestLayer().File("../escape", "pwned") },
        { "traversal below a directory", "a/../../escape", new TestLayer().File("a/../../escape", "pwned") },
        { "absolute path", "/abs/path", new TestLayer().File("/abs/path", "pwned") },
        { "hardlink to an absolute path", "passwd-link", new TestLayer().HardLink("passwd-link", "/etc/passwd") },
        { "hardlink climbing out", "passwd-link", new TestLayer().HardLink("passwd-link", "../../../../../../etc/passwd") },
    };

    /// <summary>Links whose ".." climb above the root: resolved by the kernel as in a chroot, where "/.." is "/".</summary>
    public static TheoryData<string, TestLayer> ClimbingLinks() => new()
    {
        { "symlink climbing out with ..", new TestLayer().Symlink("up", "..").File("up/outside-sentinel-dir/pwned", "pwned") },
        {
            "symlink chain escaping via ..",
            new TestLayer().Symlink("l1", "dir/l2").Directory("dir/").Symlink("dir/l2", "../../").File("l1/outside-sentinel-dir/pwned", "pwned")
        },
        {
            "chain through a link to '.'",
            new TestLayer().Symlink("a", ".").Symlink("b", "a/a/../../").File("b/outside-sentinel-dir/pwned", "pwned")
        },
        {
            "chain in a subdirectory",
            new TestLayer().Directory("d/").Symlink("d/a", ".").Symlink("d/b", "a/a/../../../").File("d/b/outside-sentinel-dir/pwned", "pwned")
        },
    };

    public static TheoryData<string, TestLayer> HardLinksThroughClimbingLinks() => new()
    {
        { "hardlink through a chain", new TestLayer().Symlink("a", ".").Symlink("b", "a/a/../../../../../../../etc").HardLink("passwd-link", "b/passwd") },
        { "hardlink through an escaping symlink", new TestLayer().Symlink("host", "../../../../../..").HardLink("passwd-link", "host/etc/passwd") },
    };

    [Theory]
    [MemberData(nameof(EscapingLayers))]
    public async Task AnEscapingEntryIsRejectedByNameAndNothingOutsideIsWritten(string attack, string entryName, TestLayer layer)
    {
        var passwordLinksBefore = (await FileFacts.OfAsync("/etc/passwd")).Links;
        var (descriptor, blob) = await layer.WriteAsync(scratch.Path);

        var error = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.True(error.ErrorId == "LayerEntryEscapesRoot", $"{attack}: {error.ErrorId}: {error.Message}");
        Assert.Equal(VmPsErrorKind.InvalidData, error.Kind);
        Assert.Contains(descriptor.Digest, error.Message);
        Assert.Contains(entryName, error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Sentinel));
        Assert.False(File.Exists(scratch.Combine("escape")));
        Assert.Equal(["outside-sentinel-dir", "root"], TopLevelOfScratchExceptBlobs());
        Assert.Equal(passwordLinksBefore, (await FileFacts.OfAsync("/etc/passwd")).Links);
    }

    [Theory]
    [MemberData(nameof(ClimbingLinks))]
    public async Task ALinkClimbingAboveTheRootStopsAtItAndWritesInside(string attack, TestLayer layer)
    {
        var (descriptor, blob) = await layer.WriteAsync(scratch.Path);

        await LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);

        Assert.Empty(Directory.EnumerateFileSystemEntries(Sentinel));
        Assert.True(File.Exists(Path.Combine(Root, "outside-sentinel-dir", "pwned")), attack);
        Assert.Equal(["outside-sentinel-dir", "root"], TopLevelOfScratchExceptBlobs());
    }

    [Theory]
    [MemberData(nameof(HardLinksThroughClimbingLinks))]
    public async Task AHardLinkThroughAClimbingLinkNamesOnlyTheRootsOwnFiles(string attack, TestLayer layer)
    {
        var passwordLinksBefore = (await FileFacts.OfAsync("/etc/passwd")).Links;
        var (descriptor, blob) = await layer.WriteAsync(scratch.Path);

        var error = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.True(error.ErrorId == "LayerHardLinkTargetInvalid", $"{attack}: {error.ErrorId}: {error.Message}");
        Assert.Equal(passwordLinksBefore, (await FileFacts.OfAsync("/etc/passwd")).Links);
        Assert.False(File.Exists(Path.Combine(Root, "passwd-link")));
    }

    [Fact]
    public async Task AnAbsoluteSymlinkResolvesInsideTheRootLikeAChroot()
    {
        // /var/run -> /run style links are common; writing through one must land in the rootfs, never on the host.
        var (descriptor, blob) = await new TestLayer()
            .Symlink("evil", Sentinel)
            .File("evil/pwned", "contained")
            .WriteAsync(scratch.Path);

        await LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);

        Assert.Empty(Directory.EnumerateFileSystemEntries(Sentinel));
        Assert.Equal("contained", File.ReadAllText(Path.Combine(Root + Sentinel, "pwned")));
        Assert.Equal(Sentinel, new FileInfo(Path.Combine(Root, "evil")).LinkTarget);
    }

    [Fact]
    public async Task ASymlinkLoopIsRejected()
    {
        var (descriptor, blob) = await new TestLayer()
            .Symlink("a", "b")
            .Symlink("b", "a")
            .File("a/file", "x")
            .WriteAsync(scratch.Path);

        var error = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.Equal("LayerSymlinkLoop", error.ErrorId);
    }

    public void Dispose() => scratch.Dispose();

    private string[] TopLevelOfScratchExceptBlobs() =>
        Directory.EnumerateFileSystemEntries(scratch.Path)
            .Select(Path.GetFileName)
            .Where(name => !name!.StartsWith("layer-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray()!;
}
