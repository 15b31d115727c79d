using System.Text;
using VmPs.Core.Boot;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Boot;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CpioWriterTests : IDisposable
{
    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    // Data lengths 0..5 and names of different lengths exercise every padding case of header, name and data.
    private static readonly (string Path, string Content)[] Files =
    [
        ("bin/tool", "#!/bin/sh\necho hi\n"),
        ("etc/e", ""),
        ("etc/ab", "a"),
        ("etc/abc", "ab"),
        ("etc/abcd", "abc"),
        ("etc/abcde", "abcd"),
        ("etc/nested/deeper/file-with-longer-name.txt", "abcde"),
    ];

    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("cpio")]
    public async Task ArchiveExtractedByTheCpioToolHasTheFilesModesAndSymlink()
    {
        var archive = await WriteSampleArchiveAsync();
        var target = scratch.Combine("out");
        Directory.CreateDirectory(target);

        // The device node needs root to create; it is checked through the listing instead.
        await ExternalTool.RunCheckedAsync("cpio", ["-idm", "--quiet", "-D", target, "-F", archive, "--nonmatching", "dev/console"], CancellationToken.None);

        foreach (var (path, content) in Files)
        {
            Assert.Equal(content, await File.ReadAllTextAsync(Path.Combine(target, path)));
        }

        Assert.Equal(Mode0755, File.GetUnixFileMode(Path.Combine(target, "bin/tool")));
        Assert.Equal(Mode0640, File.GetUnixFileMode(Path.Combine(target, "etc/abc")));
        Assert.Equal(Mode0755, File.GetUnixFileMode(Path.Combine(target, "bin")));
        Assert.Equal("tool", new FileInfo(Path.Combine(target, "bin/sh")).LinkTarget);
        Assert.Equal("#!/bin/sh\necho hi\n", await File.ReadAllTextAsync(Path.Combine(target, "bin/sh")));
    }

    [RequiresProgramFact("cpio")]
    public async Task ListingByTheCpioToolShowsTheDeviceNodeAndEntryTypes()
    {
        var archive = await WriteSampleArchiveAsync();

        var listing = (await ExternalTool.RunCheckedAsync("cpio", ["-tv", "--quiet", "-F", archive], CancellationToken.None)).StandardOutput;
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var console = Assert.Single(lines, line => line.EndsWith(" dev/console", StringComparison.Ordinal));
        Assert.StartsWith("crw-------", console);
        Assert.Matches(@"\s5,\s+1\s", console);
        Assert.StartsWith("lrwxrwxrwx", Assert.Single(lines, line => line.EndsWith(" bin/sh -> tool", StringComparison.Ordinal)));
        Assert.StartsWith("drwxr-xr-x", Assert.Single(lines, line => line.EndsWith(" bin", StringComparison.Ordinal)));
        Assert.StartsWith("-rwxr-xr-x", Assert.Single(lines, line => line.EndsWith(" bin/tool", StringComparison.Ordinal)));
        Assert.Equal(Files.Length + 6, lines.Length);
    }

    [Fact]
    public async Task ArchiveEndsWithTheTrailerPaddedToFourBytes()
    {
        var archive = await WriteSampleArchiveAsync();
        var bytes = await File.ReadAllBytesAsync(archive);

        Assert.Equal(0, bytes.Length % 4);
        var text = Encoding.ASCII.GetString(bytes);
        Assert.StartsWith("070701", text);
        Assert.EndsWith("TRAILER!!!\0\0\0\0", text);
    }

    [Fact]
    public async Task StreamShorterThanItsDeclaredLengthIsRejected()
    {
        var writer = new CpioWriter(new MemoryStream());

        var error = await Assert.ThrowsAsync<InvalidDataException>(
            () => writer.AddFileAsync("short", 0x1A4, new MemoryStream([1, 2, 3]), 10, CancellationToken.None));

        Assert.Contains("short", error.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/./b")]
    [InlineData("/")]
    [InlineData("a//b")]
    public async Task NamesThatLeaveTheArchiveRootAreRejected(string name)
    {
        var writer = new CpioWriter(new MemoryStream());

        await Assert.ThrowsAsync<ArgumentException>(() => writer.AddDirectoryAsync(name, 0x1ED, CancellationToken.None));
    }

    [Fact]
    public async Task NothingCanBeAddedAfterTheTrailer()
    {
        var writer = new CpioWriter(new MemoryStream());
        await writer.FinishAsync(CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.AddDirectoryAsync("late", 0x1ED, CancellationToken.None));
    }

    private async Task<string> WriteSampleArchiveAsync()
    {
        var path = scratch.Combine("sample.cpio");
        await using (var file = File.Create(path))
        {
            var writer = new CpioWriter(file);
            await writer.AddDirectoryAsync("bin", 0x1ED, CancellationToken.None);
            await writer.AddDirectoryAsync("etc", 0x1ED, CancellationToken.None);
            await writer.AddDirectoryAsync("etc/nested", 0x1ED, CancellationToken.None);
            await writer.AddDirectoryAsync("etc/nested/deeper", 0x1ED, CancellationToken.None);
            foreach (var (filePath, content) in Files)
            {
                var mode = filePath == "bin/tool" ? 0x1ED : 0x1A0;
                var bytes = Encoding.UTF8.GetBytes(content);
                if (filePath.Length % 2 == 0)
                {
                    await writer.AddFileAsync(filePath, mode, bytes, CancellationToken.None);
                }
                else
                {
                    await writer.AddFileAsync(filePath, mode, new MemoryStream(bytes), bytes.Length, CancellationToken.None);
                }
            }

            await writer.AddSymlinkAsync("bin/sh", "tool", CancellationToken.None);
            await writer.AddCharacterDeviceAsync("dev/console", 0x180, 5, 1, CancellationToken.None);
            await writer.FinishAsync(CancellationToken.None);
        }

        return path;
    }
}
