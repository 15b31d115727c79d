using System.Globalization;
using System.Text.RegularExpressions;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Layers;
using VmPs.Core.Images.Rootfs;
using VmPs.Core.Processes;
using VmPs.Tests.Core.Images.Layers;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Rootfs;

public sealed class RootfsImageBuilderTests : IDisposable
{
    private static readonly DateTimeOffset FileTime = new(2022, 2, 3, 4, 5, 6, TimeSpan.Zero);
    private readonly ScratchDirectory scratch = new();

    private string Tree => scratch.Combine("tree");

    [RequiresRootAndProgramsFact("mkfs.erofs", "dump.erofs", "mount", "umount")]
    public async Task ErofsImageKeepsContentOwnersModesTimesAndXattrs()
    {
        await BuildTreeAsync();
        var image = scratch.Combine("rootfs.erofs");

        var size = await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Erofs, image, CancellationToken.None);

        Assert.Equal(new FileInfo(image).Length, size);
        var inode = await ExternalTool.RunCheckedAsync("dump.erofs", ["--path=/srv/data/big.txt", image], CancellationToken.None);
        var onDisk = Regex.Match(inode.StandardOutput, @"On-disk size: (\d+)");
        Assert.True(onDisk.Success, inode.StandardOutput);
        Assert.InRange(long.Parse(onDisk.Groups[1].Value, CultureInfo.InvariantCulture), 1, 20_000);

        // The kernel's erofs driver is the reader that matters (fsck.erofs --extract drops setuid bits).
        var mounted = scratch.Combine("mnt");
        Directory.CreateDirectory(mounted);
        await ExternalTool.RunCheckedAsync("mount", ["-t", "erofs", "-o", "loop,ro", image, mounted], CancellationToken.None);
        try
        {
            Assert.Equal(new string('x', 100_000), File.ReadAllText(Path.Combine(mounted, "srv/data/big.txt")));
            var big = await FileFacts.OfAsync(Path.Combine(mounted, "srv/data/big.txt"));
            Assert.Equal(("640", 1000, 1001, FileTime.ToUnixTimeSeconds()), (big.Mode, big.Uid, big.Gid, big.MtimeSeconds));
            Assert.Equal("layer"u8.ToArray(), FileFacts.ExtendedAttribute(Path.Combine(mounted, "srv/data/big.txt"), "user.origin"));
            Assert.Equal("4755", (await FileFacts.OfAsync(Path.Combine(mounted, "bin/suid"))).Mode);
            Assert.Equal("../srv/data/big.txt", new FileInfo(Path.Combine(mounted, "etc/link")).LinkTarget);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", [mounted], CancellationToken.None);
        }
    }

    [RequiresRootAndProgramsFact("mkfs.ext4", "debugfs", "e2fsck")]
    public async Task Ext4ImageIsSizedToContentAndKeepsOwnersAndXattrs()
    {
        await BuildTreeAsync();
        var image = scratch.Combine("rootfs.ext4");

        var size = await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Ext4, image, CancellationToken.None);

        Assert.Equal(new FileInfo(image).Length, size);
        Assert.InRange(size, 64L << 20, 128L << 20);
        var check = await ExternalTool.RunAsync("e2fsck", ["-f", "-n", image], CancellationToken.None);
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        var root = await Debugfs(image, "stat /");
        Assert.Contains("User:     0   Group:     0", root);
        var big = await Debugfs(image, "stat /srv/data/big.txt");
        Assert.Contains("User:  1000   Group:  1001", big);
        Assert.Contains("Size: 100000", big);
        Assert.Contains("user.origin", big);
        Assert.Contains("Mode:  04755", await Debugfs(image, "stat /bin/suid"));
        Assert.Contains("big.txt", await Debugfs(image, "ls -l /srv/data"));
    }

    [RequiresProgramFact("mkfs.erofs")]
    public async Task AToolFailureCarriesItsStderrAndLeavesNoImage()
    {
        Directory.CreateDirectory(Tree);
        var image = scratch.Combine("missing-dir", "rootfs.erofs");

        var error = await Assert.ThrowsAsync<VmPsException>(() => RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Erofs, image, CancellationToken.None));

        Assert.Equal("RootfsBuildFailed", error.ErrorId);
        Assert.Contains("mkfs.erofs", error.Message);
        Assert.False(File.Exists(image));
    }

    [Fact]
    public async Task AnExistingOutputIsNeitherOverwrittenNorDeleted()
    {
        Directory.CreateDirectory(Tree);
        var image = scratch.Combine("taken.img");
        await File.WriteAllTextAsync(image, "somebody else's");

        var error = await Assert.ThrowsAsync<VmPsException>(() => RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Ext4, image, CancellationToken.None));

        Assert.Equal("RootfsOutputExists", error.ErrorId);
        Assert.Equal("somebody else's", await File.ReadAllTextAsync(image));
    }

    [Fact]
    public async Task AMissingSourceDirectoryIsReported()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            RootfsImageBuilder.BuildAsync(scratch.Combine("absent"), ImageFormat.Erofs, scratch.Combine("x.img"), CancellationToken.None));

        Assert.Equal("RootfsSourceNotFound", error.ErrorId);
    }

    public void Dispose() => scratch.Dispose();

    private static async Task<string> Debugfs(string image, string request) =>
        (await ExternalTool.RunCheckedAsync("debugfs", ["-R", request, image], CancellationToken.None)).StandardOutput;

    /// <summary>The tree comes from a real layer, so owners, modes, times and xattrs are set the way pulled images get them.</summary>
    private async Task BuildTreeAsync()
    {
        Directory.CreateDirectory(Tree);
        var (descriptor, blob) = await new TestLayer()
            .Directory("srv/data/", uid: 1000, gid: 1001)
            .File("srv/data/big.txt", new string('x', 100_000), mode: (UnixFileMode)0x1A0, uid: 1000, gid: 1001, time: FileTime,
                paxRecords: new Dictionary<string, string> { ["SCHILY.xattr.user.origin"] = "layer" })
            .File("bin/suid", "#!/bin/sh\n", mode: (UnixFileMode)0x9ED)
            .Symlink("etc/link", "../srv/data/big.txt")
            .WriteAsync(scratch.Path);
        await LayerApplier.ApplyAsync(Tree, descriptor, blob, CancellationToken.None);
    }
}
