using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Images.Layers;

namespace VmPs.Core.Images.Rootfs;

/// <summary>
/// Turns the device placeholders of a freshly built erofs image into device nodes, inside the image file. Debian
/// 12's mkfs.erofs (erofs-utils 1.5) builds only from a directory, where a device node would have to exist on the
/// host; it has no device table and no tar input (those came in 1.7). So the tree holds empty mode-0000 placeholder
/// files and this rewrites, for each, the three things that differ for a device: the inode's mode, its rdev (in
/// i_u, where a file keeps its block address) and the file type byte of its directory entries, then re-seals the
/// superblock checksum when those bytes share its block. Layout per the kernel's fs/erofs/erofs_fs.h.
/// </summary>
internal static class ErofsDeviceNodes
{
    private const int SuperblockOffset = 1024;
    private const uint Magic = 0xE0F5E1E2;
    private const uint SuperblockChecksumFeature = 0x1;
    private const int InodeSlotBytes = 32;
    private const int DirentBytes = 12;
    private const int DataLayoutFlatPlain = 0;
    private const int DataLayoutFlatInline = 2;
    private const ushort TypeMask = 0xF000;
    private const ushort DirectoryType = 0x4000;
    private const ushort RegularType = 0x8000;
    private const byte CharacterDeviceFileType = 3;
    private const byte BlockDeviceFileType = 4;

    public static void Write(string imagePath, IReadOnlyList<DeviceNode> nodes)
    {
        if (nodes.Count == 0)
        {
            return;
        }

        using var handle = File.OpenHandle(imagePath, FileMode.Open, FileAccess.ReadWrite);
        var image = new Image(handle, imagePath);
        var converted = new HashSet<ulong>();
        foreach (var node in nodes)
        {
            var (nid, direntOffset) = image.Lookup(node.Path);
            if (converted.Add(nid))
            {
                image.MakeDevice(nid, node);
            }

            image.SetFileType(direntOffset, node);
        }

        image.SealSuperblock();
    }

    private sealed class Image
    {
        private readonly SafeFileHandle handle;
        private readonly string path;
        private readonly int blockBits;
        private readonly ushort rootNid;
        private readonly long metadataStart;
        private readonly bool hasChecksum;

        public Image(SafeFileHandle handle, string path)
        {
            this.handle = handle;
            this.path = path;
            var superblock = Read(SuperblockOffset, 128);
            if (BinaryPrimitives.ReadUInt32LittleEndian(superblock) != Magic)
            {
                throw Invalid("it is not an erofs image");
            }

            hasChecksum = (BinaryPrimitives.ReadUInt32LittleEndian(superblock[8..]) & SuperblockChecksumFeature) != 0;
            blockBits = superblock[12];
            rootNid = BinaryPrimitives.ReadUInt16LittleEndian(superblock[14..]);
            metadataStart = (long)BinaryPrimitives.ReadUInt32LittleEndian(superblock[40..]) << blockBits;
        }

        private int BlockSize => 1 << blockBits;

        /// <summary>The nid of the entry at <paramref name="relativePath"/> and the file offset of its directory entry.</summary>
        public (ulong Nid, long DirentOffset) Lookup(string relativePath)
        {
            var nid = (ulong)rootNid;
            long direntOffset = -1;
            foreach (var component in relativePath.Split('/'))
            {
                var directory = ReadInode(nid);
                if ((directory.Mode & TypeMask) != DirectoryType)
                {
                    throw Invalid($"'{relativePath}' lies below a non-directory");
                }

                (nid, direntOffset) = FindEntry(directory, Encoding.UTF8.GetBytes(component))
                    ?? throw Invalid($"'{relativePath}' is not in the image");
            }

            return (nid, direntOffset);
        }

        public void MakeDevice(ulong nid, DeviceNode node)
        {
            var inode = ReadInode(nid);
            if ((inode.Mode & TypeMask) != RegularType || (inode.Mode & 0xFFF) != 0 || inode.Size != 0)
            {
                throw Invalid($"'{node.Path}' is not a device placeholder");
            }

            var bytes = Read(inode.Offset, 32);
            var format = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)((format & ~0xE) | (DataLayoutFlatPlain << 1)));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], (ushort)((node.IsBlockDevice ? 0x6000 : 0x2000) | ((int)node.Permissions & 0xFFF)));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], EncodeDevice((uint)node.Major, (uint)node.Minor));
            RandomAccess.Write(handle, bytes, inode.Offset);
        }

        /// <summary>A directory entry's file type byte (hard links have one each).</summary>
        public void SetFileType(long direntOffset, DeviceNode node) =>
            RandomAccess.Write(handle, new[] { node.IsBlockDevice ? BlockDeviceFileType : CharacterDeviceFileType }, direntOffset + 10);

        /// <summary>crc32c (seed ~0, no final inversion) of the first block from the superblock on, checksum field zeroed.</summary>
        public void SealSuperblock()
        {
            if (!hasChecksum)
            {
                return;
            }

            var block = Read(SuperblockOffset, BlockSize - SuperblockOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(block[4..], 0);
            var crc = uint.MaxValue;
            foreach (var b in block)
            {
                crc = BitOperations.Crc32C(crc, b);
            }

            var field = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(field, crc);
            RandomAccess.Write(handle, field, SuperblockOffset + 4);
        }

        /// <summary>Linux's new_encode_dev, which erofs stores in i_u for device inodes.</summary>
        private static uint EncodeDevice(uint major, uint minor) => (minor & 0xFF) | (major << 8) | ((minor & ~0xFFu) << 12);

        private Inode ReadInode(ulong nid)
        {
            var offset = metadataStart + ((long)nid * InodeSlotBytes);
            var bytes = Read(offset, 64);
            var format = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
            var extended = (format & 1) != 0;
            var xattrCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]);
            return new Inode(
                offset,
                extended ? 64 : 32,
                (format >> 1) & 0x7,
                xattrCount == 0 ? 0 : 12 + ((xattrCount - 1) * 4),
                BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]),
                extended ? (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]));
        }

        /// <summary>A directory's entries come in blocks (the last one maybe inline after the inode); each starts with its dirents.</summary>
        private (ulong Nid, long DirentOffset)? FindEntry(Inode directory, byte[] name)
        {
            foreach (var (offset, length) in DirectoryChunks(directory))
            {
                var chunk = Read(offset, length);
                var count = BinaryPrimitives.ReadUInt16LittleEndian(chunk[8..]) / DirentBytes;
                for (var i = 0; i < count; i++)
                {
                    var nameStart = BinaryPrimitives.ReadUInt16LittleEndian(chunk[((i * DirentBytes) + 8)..]);
                    int nameEnd = i + 1 < count ? BinaryPrimitives.ReadUInt16LittleEndian(chunk[(((i + 1) * DirentBytes) + 8)..]) : length;
                    if (nameStart > nameEnd || nameEnd > length)
                    {
                        throw Invalid("a directory block is malformed");
                    }

                    var entryName = chunk[nameStart..nameEnd];
                    var nul = entryName.IndexOf((byte)0);
                    if ((nul < 0 ? entryName : entryName[..nul]).SequenceEqual(name))
                    {
                        return (BinaryPrimitives.ReadUInt64LittleEndian(chunk[(i * DirentBytes)..]), offset + (i * DirentBytes));
                    }
                }
            }

            return null;
        }

        private IEnumerable<(long Offset, int Length)> DirectoryChunks(Inode directory)
        {
            if (directory.DataLayout is not (DataLayoutFlatPlain or DataLayoutFlatInline))
            {
                throw Invalid($"a directory has data layout {directory.DataLayout}");
            }

            var blockStart = (long)directory.RawBlockAddress << blockBits;
            var fullBlocks = directory.DataLayout == DataLayoutFlatInline ? directory.Size >> blockBits : (directory.Size + BlockSize - 1) >> blockBits;
            for (long block = 0; block < fullBlocks; block++)
            {
                yield return (blockStart + (block << blockBits), (int)Math.Min(BlockSize, directory.Size - (block << blockBits)));
            }

            var tail = (int)(directory.Size - (fullBlocks << blockBits));
            if (directory.DataLayout == DataLayoutFlatInline && tail > 0)
            {
                yield return (directory.Offset + directory.InodeBytes + directory.XattrBytes, tail);
            }
        }

        private Span<byte> Read(long offset, int length)
        {
            var bytes = new byte[length];
            if (RandomAccess.Read(handle, bytes, offset) != length)
            {
                throw Invalid("it is shorter than its metadata says");
            }

            return bytes;
        }

        private VmPsException Invalid(string reason) => new(
            VmPsErrorIds.RootfsBuildFailed,
            VmPsErrorKind.InvalidOperation,
            $"Cannot write device nodes into the erofs image '{path}': {reason}.",
            path);
    }

    private readonly record struct Inode(long Offset, int InodeBytes, int DataLayout, int XattrBytes, ushort Mode, long Size, uint RawBlockAddress);
}
