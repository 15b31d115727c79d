using System.Buffers.Binary;
using System.Text;
using VmPs.Core.Hypervisors;
using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>
/// Writes an empty qcow2 image over a backing file, in-process: what every copy-on-write file of VmPs starts as (a
/// volume copy's two files, a checkpoint's new top, a cloud-image VM's disk). Written here rather than by
/// <c>qemu-img create</c> because starting that process took about 50 ms, most of Copy-VmVolume's time, while the
/// file is a few fixed structures; no .NET library served here writes qcow2. The layout is that of QEMU's
/// docs/interop/qcow2.txt, version 3, as qemu-img lays it out: 64 KiB clusters; cluster 0 the header, the backing
/// format extension and the backing name; cluster 1 the refcount table; cluster 2 its one refcount block (16-bit
/// counts); the L1 table from cluster 3, all zero, so every read goes to the backing file until the guest writes.
/// </summary>
internal static class Qcow2Overlay
{
    /// <summary>"QFI\xfb".</summary>
    private const uint Magic = 0x514649fb;
    private const int ClusterBits = 16;
    private const int ClusterSize = 1 << ClusterBits;
    private const int HeaderLength = 112;
    private const uint BackingFormatExtension = 0xe2792aca;
    private const int MaxBackingNameBytes = 1023;
    private const long RefcountTableOffset = 1L * ClusterSize;
    private const long RefcountBlockOffset = 2L * ClusterSize;
    private const long L1TableOffset = 3L * ClusterSize;

    /// <summary>An L2 table is one cluster of 8-byte entries, each mapping one cluster.</summary>
    private const long BytesPerL1Entry = (long)ClusterSize / sizeof(ulong) * ClusterSize;

    /// <summary>QEMU opens no L1 table larger than 32 MiB (its implementation limit; 2 PiB at 64 KiB clusters).</summary>
    private const long MaxL1Entries = (32L << 20) / sizeof(ulong);

    /// <summary>
    /// Creates the private file <paramref name="path"/> (it must not exist) as an empty qcow2 image of
    /// <paramref name="virtualSizeBytes"/> over <paramref name="backing"/>, flushed to disk. The backing file is not
    /// opened: a running hypervisor may hold its lock. A relative backing path is relative to
    /// <paramref name="path"/>'s directory (QEMU resolves it so). On failure nothing is left at <paramref name="path"/>.
    /// </summary>
    public static void Create(string path, long virtualSizeBytes, BackingImage backing) => CreateAll([path], virtualSizeBytes, backing);

    /// <summary>
    /// <see cref="Create"/> for several files of one size over one backing file (a volume copy's two). All are
    /// written before any is flushed, so one journal commit makes them all durable rather than one commit each: the
    /// flushes were most of Copy-VmVolume's time. On failure none of them is left.
    /// </summary>
    public static void CreateAll(IReadOnlyList<string> paths, long virtualSizeBytes, BackingImage backing)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var image = Image(virtualSizeBytes, backing);
        // A stream on PrivateFiles' handle does not know its path: the made files are counted by their index.
        var files = new List<FileStream>(paths.Count);
        try
        {
            foreach (var path in paths)
            {
                files.Add(PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write));
                image.WriteTo(files[^1]);
            }

            foreach (var file in files)
            {
                file.Flush(flushToDisk: true);
            }
        }
        catch
        {
            for (var made = 0; made < files.Count; made++)
            {
                files[made].Dispose();
                File.Delete(paths[made]);
            }

            throw;
        }

        foreach (var file in files)
        {
            file.Dispose();
        }
    }

    private static EmptyImage Image(long virtualSizeBytes, BackingImage backing)
    {
        ArgumentNullException.ThrowIfNull(backing);
        if (virtualSizeBytes <= 0 || virtualSizeBytes % 512 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(virtualSizeBytes), virtualSizeBytes, "A qcow2 image's size is a positive whole number of 512-byte sectors.");
        }

        var l1Entries = (virtualSizeBytes + BytesPerL1Entry - 1) / BytesPerL1Entry;
        if (l1Entries > MaxL1Entries)
        {
            throw new ArgumentOutOfRangeException(nameof(virtualSizeBytes), virtualSizeBytes, "The size is beyond what QEMU opens as qcow2.");
        }

        var name = Encoding.UTF8.GetBytes(backing.Path);
        if (name.Length is 0 or > MaxBackingNameBytes)
        {
            throw new ArgumentException($"A qcow2 backing file name is 1 to {MaxBackingNameBytes} bytes.", nameof(backing));
        }

        var l1Clusters = (l1Entries * sizeof(ulong) + ClusterSize - 1) / ClusterSize;
        var header = Header(virtualSizeBytes, (uint)l1Entries, Encoding.ASCII.GetBytes(QemuImage.Name(backing.Format)), name);
        var refcountTableEntry = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(refcountTableEntry, RefcountBlockOffset);

        // Each metadata cluster (header, refcount table and block, L1 table) is used once; the 3 + 512 clusters of
        // the largest L1 table fit in the one refcount block's 32768 counts.
        var metadataClusters = (int)(L1TableOffset / ClusterSize + l1Clusters);
        var refcounts = new byte[metadataClusters * sizeof(ushort)];
        for (var cluster = 0; cluster < metadataClusters; cluster++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(refcounts.AsSpan(cluster * sizeof(ushort)), 1);
        }

        return new EmptyImage(header, refcountTableEntry, refcounts, L1TableOffset + (l1Entries * sizeof(ulong)));
    }

    /// <summary>What an empty image's file holds: its few metadata structures at their offsets, the rest holes.</summary>
    private sealed record EmptyImage(byte[] Header, byte[] RefcountTableEntry, byte[] Refcounts, long Length)
    {
        public void WriteTo(FileStream file)
        {
            file.Write(Header);
            file.Position = RefcountTableOffset;
            file.Write(RefcountTableEntry);
            file.Position = RefcountBlockOffset;
            file.Write(Refcounts);

            // The rest is holes: the refcount table's other entries and the L1 entries read as zero (unallocated).
            file.SetLength(Length);
        }
    }

    /// <summary>The header (version 3, no feature bits), the backing format extension, the end of extensions, the backing name.</summary>
    private static byte[] Header(long virtualSizeBytes, uint l1Entries, byte[] backingFormat, byte[] backingName)
    {
        var extensionLength = 8 + Align8(backingFormat.Length);
        var backingNameOffset = HeaderLength + extensionLength + 8;
        var header = new byte[backingNameOffset + backingName.Length];
        var span = header.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(span, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], 3);
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], (ulong)backingNameOffset);
        BinaryPrimitives.WriteUInt32BigEndian(span[16..], (uint)backingName.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span[20..], ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(span[24..], (ulong)virtualSizeBytes);
        BinaryPrimitives.WriteUInt32BigEndian(span[36..], l1Entries);
        BinaryPrimitives.WriteUInt64BigEndian(span[40..], L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(span[48..], RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(span[56..], 1);

        // refcount_order 4: 16-bit refcounts. Bytes 104-111 (compression type zlib, padding) stay zero.
        BinaryPrimitives.WriteUInt32BigEndian(span[96..], 4);
        BinaryPrimitives.WriteUInt32BigEndian(span[100..], HeaderLength);

        BinaryPrimitives.WriteUInt32BigEndian(span[HeaderLength..], BackingFormatExtension);
        BinaryPrimitives.WriteUInt32BigEndian(span[(HeaderLength + 4)..], (uint)backingFormat.Length);
        backingFormat.CopyTo(span[(HeaderLength + 8)..]);

        // The end-of-extensions marker (type 0, length 0) is the 8 zero bytes before the name.
        backingName.CopyTo(span[backingNameOffset..]);
        return header;
    }

    private static int Align8(int length) => (length + 7) & ~7;
}
