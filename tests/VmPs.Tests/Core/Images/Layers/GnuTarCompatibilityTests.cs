using System.Runtime.Versioning;
using VmPs.Core.Images.Layers;
using VmPs.Core.Images.Oci;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Layers;

/// <summary>Layers written by GNU tar (the format many image builders emit) apply exactly as tar -x extracts them.</summary>
[SupportedOSPlatform("linux")]
public sealed class GnuTarCompatibilityTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    [RequiresRootAndProgramsFact("tar", "find", "mkfifo")]
    public async Task AGnuTarLayerMatchesTarExtraction()
    {
        var source = scratch.Combine("source");
        var longDirectory = Path.Combine(source, "usr", new string('d', 120), new string('e', 90));
        Directory.CreateDirectory(longDirectory);
        await File.WriteAllTextAsync(Path.Combine(longDirectory, new string('f', 150)), "long name");
        await File.WriteAllTextAsync(Path.Combine(source, "usr", "shared"), "hardlinked");
        await ExternalTool.RunCheckedAsync("ln", [Path.Combine(source, "usr", "shared"), Path.Combine(longDirectory, "shared-link")], CancellationToken.None);
        File.CreateSymbolicLink(Path.Combine(source, "lib"), "usr");
        await ExternalTool.RunCheckedAsync("mkfifo", ["-m", "0600", Path.Combine(source, "fifo")], CancellationToken.None);
        await ExternalTool.RunCheckedAsync("chown", ["-R", "123:456", Path.Combine(source, "usr")], CancellationToken.None);
        File.SetUnixFileMode(Path.Combine(source, "usr", "shared"), (UnixFileMode)0xDED /* 06755 */);
        await ExternalTool.RunCheckedAsync("chown", ["-h", "7:8", Path.Combine(source, "lib")], CancellationToken.None);

        var blob = scratch.Combine("layer.tar.gz");
        await ExternalTool.RunCheckedAsync("tar", ["--format=gnu", "--numeric-owner", "-czf", blob, "-C", source, "."], CancellationToken.None);
        var expected = scratch.Combine("expected");
        Directory.CreateDirectory(expected);
        await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "-xpzf", blob, "-C", expected], CancellationToken.None);
        var applied = scratch.Combine("applied");
        Directory.CreateDirectory(applied);

        var descriptor = new OciDescriptor(TestLayer.GzipMediaType, "sha256:" + new string('a', 64), new FileInfo(blob).Length);
        var result = await LayerApplier.ApplyAsync(applied, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);

        Assert.Empty(result.Warnings);
        var expectedListing = await ListingAsync(expected);
        Assert.Contains("fifo|p|600|0|0|", expectedListing);
        Assert.Contains("usr/shared|f|6755|123|456|", expectedListing);
        Assert.Equal(expectedListing, await ListingAsync(applied));
    }

    [RequiresRootAndProgramsFact("tar")]
    public async Task BinaryXattrValuesWrittenRawByTarAreRestoredExactlyOnTheirOwnEntries()
    {
        // VFS_CAP_REVISION_2, effective; permitted = CAP_SETUID (bit 7) | CAP_NET_RAW (bit 13): contains 0x80, not UTF-8.
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] binary = [0xFF, 0xFE, 0x00, 0xC3];
        var source = scratch.Combine("source");
        Directory.CreateDirectory(source);
        foreach (var name in new[] { "a-ping", "b-plain", "c-other" })
        {
            await File.WriteAllTextAsync(Path.Combine(source, name), new string('x', 700));
        }

        FileFacts.SetExtendedAttribute(Path.Combine(source, "a-ping"), "security.capability", capability);
        FileFacts.SetExtendedAttribute(Path.Combine(source, "c-other"), "user.blob", binary);
        var blob = scratch.Combine("layer.tar");
        await ExternalTool.RunCheckedAsync(
            "tar", ["--format=posix", "--xattrs", "--xattrs-include=*", "-cf", blob, "-C", source, "a-ping", "b-plain", "c-other"], CancellationToken.None);
        var applied = scratch.Combine("applied");
        Directory.CreateDirectory(applied);

        var descriptor = new OciDescriptor(TestLayer.TarMediaType, "sha256:" + new string('b', 64), new FileInfo(blob).Length);
        var result = await LayerApplier.ApplyAsync(applied, descriptor, blob, new DeviceNodeTable(), CancellationToken.None);

        Assert.Empty(result.Warnings);
        Assert.Equal(capability, FileFacts.ExtendedAttribute(Path.Combine(applied, "a-ping"), "security.capability"));
        Assert.Null(FileFacts.ExtendedAttribute(Path.Combine(applied, "a-ping"), "user.blob"));
        Assert.Null(FileFacts.ExtendedAttribute(Path.Combine(applied, "b-plain"), "security.capability"));
        Assert.Equal(binary, FileFacts.ExtendedAttribute(Path.Combine(applied, "c-other"), "user.blob"));
    }

    public void Dispose() => scratch.Dispose();

    private static async Task<string> ListingAsync(string directory)
    {
        var listing = await ExternalTool.RunCheckedAsync(
            "find", [directory, "-mindepth", "1", "-printf", "%P|%y|%m|%U|%G|%T@|%s|%l|%n\n"], CancellationToken.None);
        return string.Join('\n', listing.StandardOutput.Split('\n').Order(StringComparer.Ordinal));
    }
}
