using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Core.Agent;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Files;

/// <summary>The extractor the host runs on a guest's tar stream (and the agent on the host's): untrusted input.</summary>
public sealed class TarTreeExtractorTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("a/b/../../../up", "contains '..'")]
    [InlineData("/abs", "absolute path")]
    public void Names_that_leave_the_destination_are_refused(string name, string reason)
    {
        var error = Assert.Throws<FileOperationException>(() => TarTreeExtractor.SplitEntryName(name));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("dir/link", "../file", true)]
    [InlineData("dir/link", "sub/../../file", true)]
    [InlineData("dir/link", "../../file", false)]
    [InlineData("link", "/etc/passwd", false)]
    [InlineData("link", "./x/../..", false)]
    public void Link_targets_are_judged_against_the_destination(string link, string target, bool inside) =>
        Assert.Equal(inside, TarTreeExtractor.LinkStaysInside(TarTreeExtractor.SplitEntryName(link), target));

    [Fact]
    public async Task A_hostile_stream_stops_at_the_first_escaping_entry_without_touching_the_outside()
    {
        var destination = _scratch.Combine("dest");
        Directory.CreateDirectory(destination);
        using var archive = FileTrees.Tar(
            FileTrees.FileEntry("./fine/ok.txt", "fine"),
            FileTrees.LinkEntry("fine/out", "../../"),
            FileTrees.FileEntry("fine/out/planted", "evil"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() =>
            TarTreeExtractor.ExtractAsync(archive, destination, new TarExtractOptions(Overwrite: false, PreserveOwnership: false), default));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Equal("fine", File.ReadAllText(Path.Combine(destination, "fine", "ok.txt")));
        Assert.Equal(["dest"], Directory.EnumerateFileSystemEntries(_scratch.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Existing_files_are_kept_without_overwrite_and_replaced_with_it()
    {
        var destination = _scratch.Combine("dest");
        Directory.CreateDirectory(destination);
        File.WriteAllText(Path.Combine(destination, "f"), "old");

        var kept = await Assert.ThrowsAsync<FileOperationException>(() =>
            TarTreeExtractor.ExtractAsync(FileTrees.Tar(FileTrees.FileEntry("f", "new")), destination, new TarExtractOptions(false, false), default));
        var oldContent = File.ReadAllText(Path.Combine(destination, "f"));
        var result = await TarTreeExtractor.ExtractAsync(FileTrees.Tar(FileTrees.FileEntry("f", "new")), destination, new TarExtractOptions(true, false), default);

        Assert.Equal((FileErrorCodes.Exists, "old"), (kept.Code, oldContent));
        Assert.Equal(("new", 1, 3L), (File.ReadAllText(Path.Combine(destination, "f")), result.Entries, result.Bytes));
        Assert.Single(Directory.EnumerateFileSystemEntries(destination));
    }
}
