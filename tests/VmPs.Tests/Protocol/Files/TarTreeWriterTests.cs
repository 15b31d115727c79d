using System.Formats.Tar;
using VmPs.Protocol.Files;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Files;

/// <summary>The host's side of Copy-VmFile -ToVm: the source tree is read through descriptors and no link in it is followed.</summary>
public sealed class TarTreeWriterTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task Links_in_the_source_tree_are_sent_as_links_and_never_followed_out_of_it()
    {
        var source = scratch.Combine("src");
        var outside = scratch.Combine("outside");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret"), "host secret");
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "file"), "data");
        File.CreateSymbolicLink(Path.Combine(source, "a"), ".");
        File.CreateSymbolicLink(Path.Combine(source, "b"), "a/a/../../outside");
        File.CreateSymbolicLink(Path.Combine(source, "secret"), Path.Combine(outside, "secret"));
        File.CreateSymbolicLink(Path.Combine(source, "sub", "dir-out"), "../../outside");

        var archive = new MemoryStream();
        await TarTreeWriter.WriteAsync(archive, source, "copy", default);

        archive.Position = 0;
        var entries = new List<(string Name, TarEntryType Type, string Link, string? Content)>();
        using (var reader = new TarReader(archive))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                entries.Add((entry.Name, entry.EntryType, entry.LinkName, entry.DataStream is null ? null : await new StreamReader(entry.DataStream).ReadToEndAsync()));
            }
        }

        Assert.Equal(
            [
                ("copy", TarEntryType.Directory, "", null),
                ("copy/a", TarEntryType.SymbolicLink, ".", null),
                ("copy/b", TarEntryType.SymbolicLink, "a/a/../../outside", null),
                ("copy/secret", TarEntryType.SymbolicLink, Path.Combine(outside, "secret"), null),
                ("copy/sub", TarEntryType.Directory, "", null),
                ("copy/sub/dir-out", TarEntryType.SymbolicLink, "../../outside", null),
                ("copy/sub/file", TarEntryType.RegularFile, "", "data"),
            ],
            entries);
    }
}
