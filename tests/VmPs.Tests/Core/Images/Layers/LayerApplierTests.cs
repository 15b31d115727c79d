using System.Formats.Tar;
using System.Runtime.Versioning;
using System.Text;
using VmPs.Core;
using VmPs.Core.Images.Layers;
using VmPs.Core.Images.Oci;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Layers;

[SupportedOSPlatform("linux")]
public sealed class LayerApplierTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public LayerApplierTests()
    {
        Directory.CreateDirectory(Root);
    }

    private string Root => scratch.Combine("root");

    [RequiresRootFact]
    public async Task FilesDirectoriesLinksAndMetadataAcrossLayersAreReproduced()
    {
        var fileTime = new DateTimeOffset(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var directoryTime = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await ApplyAsync(new TestLayer()
            .Directory("usr/", time: directoryTime)
            .Directory("usr/bin/", uid: 0, gid: 0, time: directoryTime)
            .File("usr/bin/tool", "#!/bin/sh\necho tool\n", mode: (UnixFileMode)0x9ED /* 04755 */, uid: 0, gid: 0, time: fileTime)
            .Directory("tmp/", mode: (UnixFileMode)0x3FF /* 01777 */, time: directoryTime)
            .Directory("home/app/", mode: (UnixFileMode)0x1C0, uid: 1000, gid: 1001, time: directoryTime)
            .File("home/app/data", "owned by app", mode: (UnixFileMode)0x180, uid: 1000, gid: 1001)
            .Symlink("usr/bin/alias", "tool", uid: 1000, gid: 1001)
            .Symlink("etc-link", "/usr/bin"));
        await ApplyAsync(new TestLayer()
            .HardLink("usr/bin/tool-again", "usr/bin/tool")
            .File("usr/bin/second", "second layer")
            .HardLink("usr/bin/second-again", "./usr/bin/second"));

        Assert.Equal("#!/bin/sh\necho tool\n", File.ReadAllText(Path.Combine(Root, "usr/bin/tool")));
        var tool = await FileFacts.OfAsync(Path.Combine(Root, "usr/bin/tool"));
        Assert.Equal(("regular file", "4755", 0, 0, fileTime.ToUnixTimeSeconds(), 2), (tool.Type, tool.Mode, tool.Uid, tool.Gid, tool.MtimeSeconds, tool.Links));
        Assert.Equal(tool.Inode, (await FileFacts.OfAsync(Path.Combine(Root, "usr/bin/tool-again"))).Inode);
        Assert.Equal(
            (await FileFacts.OfAsync(Path.Combine(Root, "usr/bin/second"))).Inode,
            (await FileFacts.OfAsync(Path.Combine(Root, "usr/bin/second-again"))).Inode);

        var tmp = await FileFacts.OfAsync(Path.Combine(Root, "tmp"));
        Assert.Equal(("directory", "1777", directoryTime.ToUnixTimeSeconds()), (tmp.Type, tmp.Mode, tmp.MtimeSeconds));
        var home = await FileFacts.OfAsync(Path.Combine(Root, "home/app"));
        Assert.Equal(("700", 1000, 1001, directoryTime.ToUnixTimeSeconds()), (home.Mode, home.Uid, home.Gid, home.MtimeSeconds));
        var data = await FileFacts.OfAsync(Path.Combine(Root, "home/app/data"));
        Assert.Equal(("600", 1000, 1001, TestLayer.DefaultTime.ToUnixTimeSeconds()), (data.Mode, data.Uid, data.Gid, data.MtimeSeconds));

        var alias = await FileFacts.OfAsync(Path.Combine(Root, "usr/bin/alias"));
        Assert.Equal(("symbolic link", 1000, 1001, TestLayer.DefaultTime.ToUnixTimeSeconds()), (alias.Type, alias.Uid, alias.Gid, alias.MtimeSeconds));
        Assert.Equal("tool", new FileInfo(Path.Combine(Root, "usr/bin/alias")).LinkTarget);
        Assert.Equal("/usr/bin", new FileInfo(Path.Combine(Root, "etc-link")).LinkTarget);
    }

    [RequiresRootFact]
    public async Task ExtendedAttributesFromPaxRecordsAreSetIncludingFileCapabilities()
    {
        // VFS_CAP_REVISION_2 with the effective flag, permitted = CAP_NET_BIND_SERVICE (bit 10).
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var records = new Dictionary<string, string>
        {
            ["SCHILY.xattr.security.capability"] = Encoding.Latin1.GetString(capability),
            ["SCHILY.xattr.user.comment"] = "made by a test",
            ["LIBARCHIVE.xattr.user.exact"] = Convert.ToBase64String([0xFF, 0x00, 0x80]),
        };
        await ApplyAsync(new TestLayer().File("bin/server", "binary", mode: (UnixFileMode)0x1ED, paxRecords: records));

        var server = Path.Combine(Root, "bin/server");
        Assert.Equal(capability, FileFacts.ExtendedAttribute(server, "security.capability"));
        Assert.Equal("made by a test"u8.ToArray(), FileFacts.ExtendedAttribute(server, "user.comment"));
        Assert.Equal(new byte[] { 0xFF, 0x00, 0x80 }, FileFacts.ExtendedAttribute(server, "user.exact"));
    }

    [Fact]
    public async Task WhiteoutsDeleteLowerEntriesAndOpaqueDirectoriesKeepOnlyThisLayersContent()
    {
        await ApplyAsync(new TestLayer()
            .File("etc/keep", "keep")
            .File("etc/remove-me", "gone")
            .Directory("var/cache/")
            .File("var/cache/old/deep/file", "old")
            .File("var/cache/stale", "stale")
            .File("opt/app/lower", "lower"));
        var result = await ApplyAsync(new TestLayer()
            .Whiteout("etc/remove-me")
            .Whiteout("var/cache/old")
            .Whiteout("etc/never-existed")
            .File("opt/app/upper-before-marker", "upper")
            .Opaque("opt/app")
            .File("opt/app/sub/upper-after-marker", "upper")
            .Opaque("var/cache"));

        Assert.Empty(result.Warnings);
        Assert.True(File.Exists(Path.Combine(Root, "etc/keep")));
        Assert.False(File.Exists(Path.Combine(Root, "etc/remove-me")));
        Assert.False(File.Exists(Path.Combine(Root, "etc/.wh.remove-me")));
        Assert.Equal(["sub", "upper-before-marker"], Names("opt/app"));
        Assert.True(File.Exists(Path.Combine(Root, "opt/app/sub/upper-after-marker")));
        Assert.Empty(Names("var/cache"));
    }

    [Fact]
    public async Task AWhiteoutDoesNotHideAnEntryOfItsOwnLayer()
    {
        await ApplyAsync(new TestLayer().File("a/same-layer", "kept").Whiteout("a/same-layer"));

        Assert.Equal("kept", File.ReadAllText(Path.Combine(Root, "a/same-layer")));
    }

    [Fact]
    public async Task AnEntryReplacesALowerEntryOfAnotherType()
    {
        await ApplyAsync(new TestLayer()
            .File("dir-becomes-file/inner", "inner")
            .File("file-becomes-dir", "file")
            .File("file-becomes-link", "file")
            .Directory("link-becomes-file-target/")
            .Symlink("link-becomes-file", "link-becomes-file-target")
            .File("hardlinked", "shared")
            .HardLink("hardlinked-too", "hardlinked"));
        await ApplyAsync(new TestLayer()
            .File("dir-becomes-file", "now a file")
            .Directory("file-becomes-dir/")
            .File("file-becomes-dir/child", "child")
            .Symlink("file-becomes-link", "dir-becomes-file")
            .File("link-becomes-file", "replaced the link, not its target")
            .File("hardlinked", "rewritten"));

        Assert.Equal("now a file", File.ReadAllText(Path.Combine(Root, "dir-becomes-file")));
        Assert.Equal("child", File.ReadAllText(Path.Combine(Root, "file-becomes-dir/child")));
        Assert.Equal("dir-becomes-file", new FileInfo(Path.Combine(Root, "file-becomes-link")).LinkTarget);
        Assert.Null(new FileInfo(Path.Combine(Root, "link-becomes-file")).LinkTarget);
        Assert.Equal("replaced the link, not its target", File.ReadAllText(Path.Combine(Root, "link-becomes-file")));
        Assert.Empty(Names("link-becomes-file-target"));
        Assert.Equal("shared", File.ReadAllText(Path.Combine(Root, "hardlinked-too")));
        Assert.Equal("rewritten", File.ReadAllText(Path.Combine(Root, "hardlinked")));
    }

    [Fact]
    public async Task DeviceNodesAreRecordedForTheBuilderAndNeverCreatedOnTheHost()
    {
        var devices = new DeviceNodeTable();
        var (descriptor, blob) = await new TestLayer()
            .Device("dev/null", TarEntryType.CharacterDevice, 1, 3)
            .Device("dev/loop-test", TarEntryType.BlockDevice, 7, 300, mode: (UnixFileMode)0x1B0)
            .Device("dev/replaced", TarEntryType.CharacterDevice, 1, 5)
            .File("dev/replaced", "a file now")
            .Fifo("run/initctl", mode: (UnixFileMode)0x180)
            .WriteAsync(scratch.Path);

        await LayerApplier.ApplyAsync(Root, descriptor, blob, devices, CancellationToken.None);

        foreach (var placeholder in new[] { "dev/null", "dev/loop-test" })
        {
            var facts = await FileFacts.OfAsync(Path.Combine(Root, placeholder));
            Assert.Equal(("regular empty file", "0"), (facts.Type, facts.Mode));
        }

        Assert.Equal(
            [new DeviceNode("dev/loop-test", true, 7, 300, (UnixFileMode)0x1B0), new DeviceNode("dev/null", false, 1, 3, (UnixFileMode)0x1B6)],
            devices.Locate(Root).OrderBy(node => node.Path, StringComparer.Ordinal));
        Assert.Equal("a file now", File.ReadAllText(Path.Combine(Root, "dev/replaced")));
        var fifo = await FileFacts.OfAsync(Path.Combine(Root, "run/initctl"));
        Assert.Equal(("fifo", "600"), (fifo.Type, fifo.Mode));
    }

    [RequiresRootFact]
    public async Task ARootEntrySetsTheRootDirectorysModeOwnerAndTime()
    {
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await ApplyAsync(new TestLayer().Directory("./", mode: (UnixFileMode)0x1ED, uid: 0, gid: 0).File("./etc/hostname", "vm"));

        var root = await FileFacts.OfAsync(Root);
        Assert.Equal(("755", 0, 0, TestLayer.DefaultTime.ToUnixTimeSeconds()), (root.Mode, root.Uid, root.Gid, root.MtimeSeconds));
        Assert.Equal("vm", File.ReadAllText(Path.Combine(Root, "etc/hostname")));
    }

    [Theory]
    [InlineData(TestLayer.TarMediaType)]
    [InlineData(TestLayer.GzipMediaType)]
    [InlineData(TestLayer.DockerGzipMediaType)]
    [InlineData("application/vnd.docker.image.rootfs.diff.tar")]
    public async Task EveryTarMediaTypeIsApplied(string mediaType)
    {
        await ApplyAsync(new TestLayer().File("hello.txt", mediaType), mediaType);

        Assert.Equal(mediaType, File.ReadAllText(Path.Combine(Root, "hello.txt")));
    }

    [Fact]
    public async Task ZstdLayersAreDecompressedInProcess()
    {
        await ApplyAsync(new TestLayer().File("hello.txt", "zstd"), TestLayer.ZstdMediaType);

        Assert.Equal("zstd", File.ReadAllText(Path.Combine(Root, "hello.txt")));
    }

    [Fact]
    public async Task AnUnknownMediaTypeIsRejected()
    {
        var (descriptor, blob) = await new TestLayer().File("a", "b").WriteAsync(scratch.Path, TestLayer.TarMediaType);

        var error = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(
            Root, descriptor with { MediaType = "application/vnd.oci.image.layer.v1.tar+bzip2" }, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.Equal("UnsupportedLayerMediaType", error.ErrorId);
        Assert.Contains("tar+bzip2", error.Message);
    }

    [Fact]
    public async Task ACorruptArchiveIsReportedWithTheLayerDigest()
    {
        var blob = scratch.Combine("corrupt.gz");
        await File.WriteAllBytesAsync(blob, [0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
        var descriptor = new OciDescriptor(TestLayer.GzipMediaType, "sha256:" + new string('c', 64), 11);

        var error = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.Equal("LayerArchiveInvalid", error.ErrorId);
        Assert.Contains(descriptor.Digest, error.Message);
    }

    [Fact]
    public async Task AMissingBlobOrRootIsReported()
    {
        var (descriptor, blob) = await new TestLayer().File("a", "b").WriteAsync(scratch.Path);

        var noBlob = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root, descriptor, blob + ".absent", new DeviceNodeTable(), CancellationToken.None));
        var noRoot = await Assert.ThrowsAsync<VmPsException>(() => LayerApplier.ApplyAsync(Root + "-absent", descriptor, blob, new DeviceNodeTable(), CancellationToken.None));

        Assert.Equal(("LayerBlobNotFound", "LayerRootNotFound"), (noBlob.ErrorId, noRoot.ErrorId));
        Assert.False(Directory.Exists(Root + "-absent"));
    }

    public void Dispose() => scratch.Dispose();

    private string[] Names(string directory) =>
        Directory.EnumerateFileSystemEntries(Path.Combine(Root, directory)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private async Task<LayerApplyResult> ApplyAsync(TestLayer layer, string mediaType = TestLayer.GzipMediaType)
    {
        var (descriptor, blob) = await layer.WriteAsync(scratch.Path, mediaType);
        return await LayerApplier.ApplyAsync(Root, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);
    }
}
