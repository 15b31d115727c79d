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

        var size = await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Erofs, image, [], CancellationToken.None);

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

        var size = await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Ext4, image, [], CancellationToken.None);

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

        var error = await Assert.ThrowsAsync<VmPsException>(() => RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Erofs, image, [], CancellationToken.None));

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

        var error = await Assert.ThrowsAsync<VmPsException>(() => RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Ext4, image, [], CancellationToken.None));

        Assert.Equal("RootfsOutputExists", error.ErrorId);
        Assert.Equal("somebody else's", await File.ReadAllTextAsync(image));
    }

    [Fact]
    public async Task AMissingSourceDirectoryIsReported()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            RootfsImageBuilder.BuildAsync(scratch.Combine("absent"), ImageFormat.Erofs, scratch.Combine("x.img"), [], CancellationToken.None));

        Assert.Equal("RootfsSourceNotFound", error.ErrorId);
    }

    [RequiresRootAndProgramsFact("mkfs.erofs", "fsck.erofs", "mount", "umount")]
    public async Task ErofsImageHoldsTheDeviceNodesTheTreeOnlyRecorded()
    {
        var devices = await BuildDeviceTreeAsync();
        var image = scratch.Combine("rootfs.erofs");

        await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Erofs, image, devices, CancellationToken.None);

        await ExternalTool.RunCheckedAsync("fsck.erofs", [image], CancellationToken.None);
        await AssertDeviceNodesAsync(image, "erofs");
    }

    [RequiresRootAndProgramsFact("mkfs.ext4", "debugfs", "e2fsck", "mount", "umount")]
    public async Task Ext4ImageHoldsTheDeviceNodesTheTreeOnlyRecorded()
    {
        var devices = await BuildDeviceTreeAsync();
        var image = scratch.Combine("rootfs.ext4");

        await RootfsImageBuilder.BuildAsync(Tree, ImageFormat.Ext4, image, devices, CancellationToken.None);

        await ExternalTool.RunCheckedAsync("e2fsck", ["-f", "-n", image], CancellationToken.None);
        await AssertDeviceNodesAsync(image, "ext4");
    }

    public void Dispose() => scratch.Dispose();

    /// <summary>
    /// Device placeholders the way a layer leaves them: a hard-linked pair, a minor past 255 (the new dev_t
    /// encoding), and one at the end of a directory spanning several blocks; nothing on the host is a device.
    /// </summary>
    private async Task<IReadOnlyList<DeviceNode>> BuildDeviceTreeAsync()
    {
        Directory.CreateDirectory(Tree);
        var layer = new TestLayer()
            .Device("dev/null", System.Formats.Tar.TarEntryType.CharacterDevice, 1, 3)
            .Device("dev/sda", System.Formats.Tar.TarEntryType.BlockDevice, 8, 0, mode: (UnixFileMode)0x1B0)
            .Device("dev/wide", System.Formats.Tar.TarEntryType.CharacterDevice, 240, 300_000, mode: (UnixFileMode)0x180)
            .HardLink("dev/null-too", "dev/null");
        for (var i = 0; i < 400; i++)
        {
            layer.File($"many/file-{i:D4}", "x");
        }

        var (descriptor, blob) = await layer.Device("many/zz-last", System.Formats.Tar.TarEntryType.CharacterDevice, 5, 1).WriteAsync(scratch.Path);
        var devices = new DeviceNodeTable();
        await LayerApplier.ApplyAsync(Tree, descriptor, blob, devices, CancellationToken.None);
        var found = await ExternalTool.RunCheckedAsync("find", [Tree, "(", "-type", "b", "-o", "-type", "c", ")"], CancellationToken.None);
        Assert.Equal(string.Empty, found.StandardOutput);
        return devices.Locate(Tree);
    }

    private async Task AssertDeviceNodesAsync(string image, string type)
    {
        var mountPoint = scratch.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        await ExternalTool.RunCheckedAsync("mount", ["-t", type, "-o", "loop,ro", image, mountPoint], CancellationToken.None);
        try
        {
            string Stat(string path) => ExternalTool.RunCheckedAsync("stat", ["-c", "%F %a %t:%T %h", Path.Combine(mountPoint, path)], CancellationToken.None)
                .GetAwaiter().GetResult().StandardOutput.Trim();

            Assert.Equal("character special file 666 1:3 2", Stat("dev/null"));
            Assert.Equal("character special file 666 1:3 2", Stat("dev/null-too"));
            Assert.Equal("block special file 660 8:0 1", Stat("dev/sda"));
            Assert.Equal("character special file 600 f0:493e0 1", Stat("dev/wide"));
            Assert.Equal("character special file 666 5:1 1", Stat("many/zz-last"));
            Assert.Equal("regular file 644 0:0 1", Stat("many/file-0399"));
            // find decides -type from the directory entry's file type byte, not from the inode.
            var characterDevices = await ExternalTool.RunCheckedAsync("find", [mountPoint, "-type", "c"], CancellationToken.None);
            Assert.Equal(4, characterDevices.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", [mountPoint], CancellationToken.None);
        }
    }

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
        await LayerApplier.ApplyAsync(Tree, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);
    }
}
