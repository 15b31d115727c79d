using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using VmPs.Core.Images.Oci;

namespace VmPs.Tests.Core.Images.Layers;

/// <summary>A tar layer written by a test with System.Formats.Tar (PAX), stored as a blob file like the cache holds.</summary>
public sealed class TestLayer
{
    public const string TarMediaType = "application/vnd.oci.image.layer.v1.tar";
    public const string GzipMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerGzipMediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string ZstdMediaType = "application/vnd.oci.image.layer.v1.tar+zstd";

    public static readonly DateTimeOffset DefaultTime = new(2024, 5, 17, 10, 30, 15, TimeSpan.Zero);

    private readonly List<PaxTarEntry> entries = [];

    public TestLayer Directory(string name, UnixFileMode mode = (UnixFileMode)0x1ED, int uid = 0, int gid = 0, DateTimeOffset? time = null) =>
        Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, Uid = uid, Gid = gid, ModificationTime = time ?? DefaultTime });

    public TestLayer File(
        string name,
        string content,
        UnixFileMode mode = (UnixFileMode)0x1A4,
        int uid = 0,
        int gid = 0,
        DateTimeOffset? time = null,
        IDictionary<string, string>? paxRecords = null)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name, paxRecords ?? new Dictionary<string, string>())
        {
            Mode = mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = time ?? DefaultTime,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        };
        return Add(entry);
    }

    public TestLayer Symlink(string name, string target, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Uid = uid, Gid = gid, ModificationTime = DefaultTime });

    public TestLayer HardLink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = DefaultTime });

    public TestLayer Device(string name, TarEntryType type, int major, int minor, UnixFileMode mode = (UnixFileMode)0x1B6) =>
        Add(new PaxTarEntry(type, name) { DeviceMajor = major, DeviceMinor = minor, Mode = mode, ModificationTime = DefaultTime });

    public TestLayer Fifo(string name, UnixFileMode mode = (UnixFileMode)0x1A4) =>
        Add(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = mode, ModificationTime = DefaultTime });

    public TestLayer Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return File(slash < 0 ? $".wh.{path}" : $"{path[..(slash + 1)]}.wh.{path[(slash + 1)..]}", "");
    }

    public TestLayer Opaque(string directory) => File($"{directory.TrimEnd('/')}/.wh..wh..opq", "");

    /// <summary>Writes the blob into <paramref name="directory"/> and returns its descriptor and path.</summary>
    public async Task<(OciDescriptor Descriptor, string BlobPath)> WriteAsync(string directory, string mediaType = GzipMediaType)
    {
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                await writer.WriteEntryAsync(entry);
            }
        }

        var tarPath = Path.Combine(directory, $"layer-{Guid.NewGuid():N}.tar");
        await System.IO.File.WriteAllBytesAsync(tarPath, tar.ToArray());
        var blobPath = tarPath;
        if (mediaType is GzipMediaType or DockerGzipMediaType)
        {
            blobPath = tarPath + ".gz";
            await using var output = System.IO.File.Create(blobPath);
            await using var gzip = new GZipStream(output, CompressionLevel.Fastest);
            await gzip.WriteAsync(tar.ToArray());
        }
        else if (mediaType == ZstdMediaType)
        {
            blobPath = tarPath + ".zst";
            await System.IO.File.WriteAllBytesAsync(blobPath, new ZstdSharp.Compressor().Wrap(tar.ToArray()).ToArray());
        }

        var blob = await System.IO.File.ReadAllBytesAsync(blobPath);
        var digest = $"sha256:{Convert.ToHexStringLower(SHA256.HashData(blob))}";
        return (new OciDescriptor(mediaType, digest, blob.Length), blobPath);
    }

    private TestLayer Add(PaxTarEntry entry)
    {
        entries.Add(entry);
        return this;
    }
}
