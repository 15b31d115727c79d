using System.Buffers.Binary;

namespace VmPs.Core.Host;

/// <summary>
/// Just enough ELF reading to tell a static executable from a dynamically linked one, and a vmlinux that
/// hypervisors can boot directly (PVH) from one they cannot.
/// </summary>
internal static class ElfExecutable
{
    private const uint ProgramHeaderInterpreter = 3; // PT_INTERP: names the dynamic loader
    private const uint ProgramHeaderNote = 4; // PT_NOTE
    private const uint XenNotePhys32Entry = 18; // XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point
    private const int MaxNoteSegment = 1 << 16;

    /// <summary>True when the 64-bit little-endian ELF file asks for a dynamic loader; false for static executables and anything unreadable.</summary>
    public static bool IsDynamicallyLinked(string path) =>
        ReadProgramHeaders(path).Any(header => header.Type == ProgramHeaderInterpreter);

    /// <summary>
    /// True when the ELF file carries the Xen PVH entry note (a vmlinux built with CONFIG_PVH), which QEMU and
    /// Cloud Hypervisor need to boot an uncompressed kernel directly.
    /// </summary>
    public static bool HasPvhEntry(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            foreach (var header in ReadProgramHeaders(file).Where(header => header.Type == ProgramHeaderNote && header.Size <= MaxNoteSegment))
            {
                var notes = new byte[header.Size];
                file.Seek(header.Offset, SeekOrigin.Begin);
                file.ReadExactly(notes);
                if (HasXenNote(notes, XenNotePhys32Entry))
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Walks the notes of one PT_NOTE segment: namesz, descsz, type, then name and desc, each padded to 4 bytes.</summary>
    private static bool HasXenNote(ReadOnlySpan<byte> notes, uint type)
    {
        static int Aligned(int length) => (length + 3) & ~3;
        var position = 0;
        while (position + 12 <= notes.Length)
        {
            var nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[position..]);
            var descriptionSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[(position + 4)..]);
            var noteType = BinaryPrimitives.ReadUInt32LittleEndian(notes[(position + 8)..]);
            if (nameSize < 0 || descriptionSize < 0 || position + 12 + Aligned(nameSize) + Aligned(descriptionSize) > notes.Length)
            {
                return false;
            }

            if (noteType == type && notes.Slice(position + 12, nameSize).SequenceEqual("Xen\0"u8))
            {
                return true;
            }

            position += 12 + Aligned(nameSize) + Aligned(descriptionSize);
        }

        return false;
    }

    private static IReadOnlyList<ProgramHeader> ReadProgramHeaders(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return ReadProgramHeaders(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The program headers of a 64-bit little-endian ELF file; none for anything else.</summary>
    private static IReadOnlyList<ProgramHeader> ReadProgramHeaders(FileStream file)
    {
        Span<byte> header = stackalloc byte[64];
        if (file.Read(header) < header.Length || !header[..4].SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
        {
            return [];
        }

        var programHeaderOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..]);
        var programHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x36..]);
        var programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[0x38..]);
        var headers = new List<ProgramHeader>(programHeaderCount);
        Span<byte> entry = stackalloc byte[0x28];
        for (var i = 0; i < programHeaderCount && programHeaderSize >= entry.Length; i++)
        {
            file.Seek(programHeaderOffset + ((long)i * programHeaderSize), SeekOrigin.Begin);
            if (file.Read(entry) < entry.Length)
            {
                break;
            }

            // p_type at 0x00, p_offset at 0x08, p_filesz at 0x20.
            headers.Add(new ProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(entry),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(entry[0x08..]),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(entry[0x20..])));
        }

        return headers;
    }

    private readonly record struct ProgramHeader(uint Type, long Offset, long Size);
}
