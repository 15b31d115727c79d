using System.Formats.Tar;
using System.Text;
using VmPs.Protocol.Archives;

namespace VmPs.Tests.Protocol.Archives;

/// <summary>What the untrusted-archive reader refuses, and that it refuses before committing memory to it.</summary>
public sealed class TarArchiveReaderTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public async Task APaxHeaderLargerThanTheLimitIsRefusedBeforeItsRecordsAreRead()
    {
        var source = new TarInputStream(RawTar.Header("PaxHeaders/x", 'x', 2 * GiB), 2 * GiB);

        var error = await ReadAllExpectingErrorAsync(source);

        Assert.Equal(TarArchiveError.LimitExceeded, error.Error);
        Assert.Contains("PAX extended header", error.Message);
        Assert.True(source.Served <= 64 * 1024, $"the reader took {source.Served} bytes of the header");
    }

    [Fact]
    public async Task PaxHeadersChainedBeforeOneEntryShareOneLimit()
    {
        var limits = new TarLimits { MaxExtendedHeaderBytes = 4096 };
        var comment = RawTar.Record("comment", new string('c', 1500));
        var archive = RawTar.Concat(RawTar.Pax(comment), RawTar.Pax(comment), RawTar.Pax(comment), RawTar.File("a", "x"), RawTar.End);

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(archive), limits);

        Assert.Equal(TarArchiveError.LimitExceeded, error.Error);
    }

    [Theory]
    [InlineData('L')]
    [InlineData('K')]
    public async Task AGnuLongNameLongerThanPathMaxIsRefused(char type)
    {
        var source = new TarInputStream(RawTar.Header("././@LongLink", type, GiB), GiB);

        var error = await ReadAllExpectingErrorAsync(source);

        Assert.Equal(TarArchiveError.LimitExceeded, error.Error);
        Assert.True(source.Served <= 64 * 1024);
    }

    [Fact]
    public async Task AnEntryDeclaringMoreThanTheArchiveMayExpandToIsRefusedAtItsHeader()
    {
        var source = new TarInputStream(RawTar.Header("bomb", '0', 100 * GiB), 100 * GiB, value: 0);

        var error = await ReadAllExpectingErrorAsync(source);

        Assert.Equal((TarArchiveError.LimitExceeded, "bomb"), (error.Error, error.EntryName));
        Assert.True(source.Served <= 64 * 1024);
    }

    [Fact]
    public async Task ContentPastTheTotalLimitIsRefusedWhateverTheEntriesDeclare()
    {
        var limits = new TarLimits { MaxTotalBytes = 64 * 1024 };
        var entries = Enumerable.Range(0, 100).Select(i => RawTar.File($"f{i}", new byte[4096])).ToArray();

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(RawTar.Concat([.. entries, RawTar.End])), limits);

        Assert.Equal(TarArchiveError.LimitExceeded, error.Error);
    }

    [Fact]
    public async Task TooManyEntriesAreRefused()
    {
        var limits = new TarLimits { MaxEntries = 10 };
        var entries = Enumerable.Range(0, 11).Select(i => RawTar.Header($"d{i}/", '5', 0)).ToArray();

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(RawTar.Concat([.. entries, RawTar.End])), limits);

        Assert.Equal(TarArchiveError.LimitExceeded, error.Error);
    }

    [Fact]
    public async Task ContentShorterThanItsHeaderClaimsIsTruncatedWhenReadAndWhenSkipped()
    {
        var archive = RawTar.Concat(RawTar.Header("short", '0', 1 << 20), new byte[100]);

        await using (var reader = new TarArchiveReader(new MemoryStream(archive)))
        {
            var entry = await reader.ReadNextAsync(CancellationToken.None);
            var read = await Assert.ThrowsAsync<TarArchiveException>(() => entry!.Data.CopyToAsync(Stream.Null));
            Assert.Equal((TarArchiveError.Truncated, "short"), (read.Error, read.EntryName));
        }

        var skipped = await ReadAllExpectingErrorAsync(new MemoryStream(archive));
        Assert.Equal(TarArchiveError.Truncated, skipped.Error);
    }

    [Fact]
    public async Task AHeaderCutShortIsTruncated()
    {
        var archive = RawTar.File("a", "x").Concat(RawTar.Header("b", '0', 0)[..300]).ToArray();

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(archive));

        Assert.Equal(TarArchiveError.Truncated, error.Error);
    }

    [Theory]
    [InlineData("path", "..\0/escape")]
    [InlineData("path", "etc\0passwd")]
    [InlineData("linkpath", "target\0")]
    public async Task ANulInAPaxPathIsMalformed(string key, string value)
    {
        var type = key == "linkpath" ? '2' : '0';
        var archive = RawTar.Concat(RawTar.Pax(RawTar.Record(key, value)), RawTar.Header("plain", type, 0), RawTar.End);

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(archive));

        Assert.Equal(TarArchiveError.Malformed, error.Error);
        Assert.Contains("NUL", error.Message);
    }

    [Fact]
    public async Task AWrongChecksumIsMalformed()
    {
        var header = RawTar.Header("a", '0', 0);
        header[0] ^= 0x20;

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(RawTar.Concat(header, RawTar.End)));

        Assert.Equal(TarArchiveError.Malformed, error.Error);
    }

    [Fact]
    public async Task AnEightByteFieldInBase256ReadsAsGnuTarWritesALargeUid()
    {
        var header = RawTar.Header("a", '0', 0);
        byte[] uid = [0x80, 0, 0, 0, 0, 0x3D, 0x09, 0x00];
        uid.CopyTo(header, 108);
        RawTar.Seal(header);

        await using var reader = new TarArchiveReader(new MemoryStream(RawTar.Concat(header, RawTar.End)));
        var entry = await reader.ReadNextAsync(CancellationToken.None);

        Assert.Equal(4_000_000, entry!.Uid);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0, 0, 0, 0, 0, 0x12, 0x34 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    public async Task AChecksumFieldInBase256IsMalformed(byte[] checksum)
    {
        var header = RawTar.Header("a", '0', 0);
        checksum.CopyTo(header, 148);

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(RawTar.Concat(header, RawTar.End)));

        Assert.Equal(TarArchiveError.Malformed, error.Error);
    }

    [Theory]
    [InlineData("12 path=abc")]
    [InlineData("5 a=b\n")]
    [InlineData("x path=a\n")]
    [InlineData("99999 path=a\n")]
    public async Task AMalformedPaxRecordIsMalformed(string records)
    {
        var archive = RawTar.Concat(RawTar.Pax(Encoding.UTF8.GetBytes(records)), RawTar.File("a", "x"), RawTar.End);

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(archive));

        Assert.Equal(TarArchiveError.Malformed, error.Error);
    }

    [Fact]
    public async Task GnuSparseFilesAreUnsupported()
    {
        var archive = RawTar.Concat(RawTar.Pax(RawTar.Record("GNU.sparse.major", "1")), RawTar.File("sparse", "x"), RawTar.End);

        var error = await ReadAllExpectingErrorAsync(new MemoryStream(archive));

        Assert.Equal(TarArchiveError.Unsupported, error.Error);
    }

    [Fact]
    public async Task PaxRecordsOverrideTheHeaderAndXattrsKeepTheirRawBytes()
    {
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0xFF, 0xFE, 0x00, 0x80];
        var longName = string.Join('/', Enumerable.Repeat("directory", 40)) + "/file";
        var archive = RawTar.Concat(
            RawTar.Pax(
                RawTar.Record("path", longName),
                RawTar.Record("uid", "4000000"),
                RawTar.Record("mtime", "1700000000.5"),
                RawTar.Record("SCHILY.xattr.security.capability", capability),
                RawTar.Record("LIBARCHIVE.xattr.user.%61b", Convert.ToBase64String([1, 2, 3]))),
            RawTar.File("short", "content", mode: 0xDED),
            RawTar.End);

        await using var reader = new TarArchiveReader(new MemoryStream(archive));
        var entry = await reader.ReadNextAsync(CancellationToken.None);

        Assert.NotNull(entry);
        Assert.Equal((longName, TarEntryKind.File, 4000000, 7L), (entry.Name, entry.Kind, entry.Uid, entry.Size));
        Assert.Equal((UnixFileMode)0xDED, entry.Mode);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500), entry.ModificationTime);
        Assert.Equal(capability, entry.ExtendedAttributes["security.capability"]);
        Assert.Equal([1, 2, 3], entry.ExtendedAttributes["user.ab"]);
        Assert.Equal("content", await new StreamReader(entry.Data).ReadToEndAsync());
        Assert.Null(await reader.ReadNextAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(TarEntryFormat.V7)]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public async Task WhatSystemFormatsTarWritesReadsBack(TarEntryFormat format)
    {
        var longName = format is TarEntryFormat.Pax or TarEntryFormat.Gnu ? string.Join('/', Enumerable.Repeat("sub", 60)) + "/f" : "dir/f";
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, format, leaveOpen: true))
        {
            var entryType = format == TarEntryFormat.V7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile;
            await writer.WriteEntryAsync(Entry(format, TarEntryType.Directory, "dir/"));
            var file = Entry(format, entryType, longName);
            file.DataStream = new MemoryStream(Encoding.UTF8.GetBytes("hello"));
            file.Mode = (UnixFileMode)0x9ED;
            await writer.WriteEntryAsync(file);
            var link = Entry(format, TarEntryType.SymbolicLink, "dir/link");
            link.LinkName = "../" + longName;
            await writer.WriteEntryAsync(link);
        }

        tar.Position = 0;
        await using var reader = new TarArchiveReader(tar);
        var entries = new List<(string, TarEntryKind, string, string)>();
        while (await reader.ReadNextAsync(CancellationToken.None) is { } entry)
        {
            entries.Add((entry.Name, entry.Kind, entry.LinkName, await new StreamReader(entry.Data).ReadToEndAsync()));
        }

        Assert.Equal(
            [("dir/", TarEntryKind.Directory, "", ""), (longName, TarEntryKind.File, "", "hello"), ("dir/link", TarEntryKind.SymbolicLink, "../" + longName, "")],
            entries);
    }

    [Fact]
    public async Task HeaderOnlyTypesCarryNoContentWhateverTheirSizeField()
    {
        var archive = RawTar.Concat(RawTar.Header("dir/", '5', 4096), RawTar.File("dir/a", "x"), RawTar.End);

        await using var reader = new TarArchiveReader(new MemoryStream(archive));
        var directory = await reader.ReadNextAsync(CancellationToken.None);
        var file = await reader.ReadNextAsync(CancellationToken.None);

        Assert.Equal((TarEntryKind.Directory, 0L), (directory!.Kind, directory.Size));
        Assert.Equal(("dir/a", "x"), (file!.Name, await new StreamReader(file.Data).ReadToEndAsync()));
    }

    [Fact]
    public async Task DataOffsetsPointAtEachEntrysContent()
    {
        var archive = RawTar.Concat(RawTar.File("a", "first"), RawTar.Pax(RawTar.Record("path", "b")), RawTar.File("x", "second"), RawTar.End);

        await using var reader = new TarArchiveReader(new MemoryStream(archive));
        var offsets = new List<(string, string)>();
        while (await reader.ReadNextAsync(CancellationToken.None) is { } entry)
        {
            offsets.Add((entry.Name, Encoding.UTF8.GetString(archive, (int)entry.DataOffset, (int)entry.Size)));
        }

        Assert.Equal([("a", "first"), ("b", "second")], offsets);
    }

    private static TarEntry Entry(TarEntryFormat format, TarEntryType type, string name) => format switch
    {
        TarEntryFormat.V7 => new V7TarEntry(type, name),
        TarEntryFormat.Ustar => new UstarTarEntry(type, name),
        TarEntryFormat.Pax => new PaxTarEntry(type, name),
        _ => new GnuTarEntry(type, name),
    };

    private static async Task<TarArchiveException> ReadAllExpectingErrorAsync(Stream source, TarLimits? limits = null)
    {
        await using var reader = new TarArchiveReader(source, limits);
        return await Assert.ThrowsAsync<TarArchiveException>(async () =>
        {
            while (await reader.ReadNextAsync(CancellationToken.None) is { } entry)
            {
                await entry.Data.CopyToAsync(Stream.Null);
            }
        });
    }
}
