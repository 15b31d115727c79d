using System.Buffers.Binary;

namespace VmPs.Core.Images.Disk;

/// <summary>
/// The fields of a qcow2 header that decide whether qemu would open any file besides the image itself (a backing
/// file, an external data file) or need a secret (encryption). Read by VmPs before qemu-img ever opens the file:
/// qemu-img opens an external data file even where it is told not to follow backing files.
/// </summary>
internal sealed record Qcow2Header(int Version, long BackingFileOffset, int CryptMethod, ulong IncompatibleFeatures)
{
    /// <summary>Version 3's header ends its fixed part at 104 bytes; version 2's at 72.</summary>
    public const int MaxFixedLength = 104;

    private const uint Magic = 0x514649fb; // "QFI\xfb"
    private const ulong DirtyBit = 1;
    private const ulong CorruptBit = 1 << 1;
    private const ulong ExternalDataFileBit = 1 << 2;

    public bool HasBackingFile => BackingFileOffset != 0;

    public bool HasExternalDataFile => (IncompatibleFeatures & ExternalDataFileBit) != 0;

    /// <summary>qemu marks an image corrupt when it finds damaged metadata while writing it.</summary>
    public bool IsMarkedCorrupt => (IncompatibleFeatures & CorruptBit) != 0;

    /// <summary>Left set by a writer that did not close the image: its refcounts need the repair qemu-img check does.</summary>
    public bool IsDirty => (IncompatibleFeatures & DirtyBit) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> start) => start.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(start) == Magic;

    /// <summary>The header at the start of <paramref name="start"/>; null when it does not begin with the qcow2 magic.</summary>
    public static Qcow2Header? TryRead(ReadOnlySpan<byte> start)
    {
        if (!HasMagic(start) || start.Length < 72)
        {
            return null;
        }

        var version = BinaryPrimitives.ReadInt32BigEndian(start[4..]);
        var incompatible = version >= 3 && start.Length >= 80 ? BinaryPrimitives.ReadUInt64BigEndian(start[72..]) : 0;
        return new Qcow2Header(
            version,
            BinaryPrimitives.ReadInt64BigEndian(start[8..]),
            BinaryPrimitives.ReadInt32BigEndian(start[32..]),
            incompatible);
    }
}
