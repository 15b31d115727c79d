using System.Buffers.Binary;
using System.Text;

namespace VmPs.Tests.Core.Boot;

/// <summary>
/// A minimal ELF64 vmlinux: the header, one PT_NOTE program header with (optionally) the PVH entry note
/// (owner "Xen", type 18) and the "Linux version" banner at a chosen offset.
/// </summary>
internal static class TestVmlinux
{
    public const ushort X86_64 = 62;

    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const int NoteOffset = HeaderSize + ProgramHeaderSize;

    public static byte[] Build(string release, int bannerOffset = 0x1000, bool pvhNote = true, ushort machine = X86_64, int length = 0x2000)
    {
        var bytes = new byte[Math.Max(length, bannerOffset + 256)];
        var span = bytes.AsSpan();
        "\u007fELF"u8.CopyTo(span);
        span[4] = 2; // ELFCLASS64
        span[5] = 1; // little-endian
        span[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x10..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x12..], machine);
        BinaryPrimitives.WriteUInt32LittleEndian(span[0x14..], 1);
        BinaryPrimitives.WriteInt64LittleEndian(span[0x20..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x34..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x36..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x38..], 1);

        // The note: namesz 4 ("Xen\0"), descsz 4, type 18 (or an unrelated GNU note), name, descriptor.
        var note = span[NoteOffset..];
        BinaryPrimitives.WriteUInt32LittleEndian(note, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note[4..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note[8..], pvhNote ? 18u : 3u);
        (pvhNote ? "Xen\0"u8 : "GNU\0"u8).CopyTo(note[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(note[16..], 0x1000000);

        var programHeader = span[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(programHeader, 4); // PT_NOTE
        BinaryPrimitives.WriteInt64LittleEndian(programHeader[0x08..], NoteOffset);
        BinaryPrimitives.WriteInt64LittleEndian(programHeader[0x20..], 20);
        BinaryPrimitives.WriteInt64LittleEndian(programHeader[0x28..], 20);

        Encoding.ASCII.GetBytes($"Linux version {release} (builder@host) #1 SMP\0").CopyTo(span[bannerOffset..]);
        return bytes;
    }
}
