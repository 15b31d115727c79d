using System.Buffers.Binary;
using System.Text;

namespace VmPs.Core.Host;

/// <summary>
/// Just enough of a 64-bit little-endian ELF file: its machine, whether it asks for a dynamic loader, and the
/// notes of its PT_NOTE segments. Reads are bounded: a hostile file cannot make it read or allocate much.
/// </summary>
internal sealed class ElfFile
{
    public const ushort MachineX86_64 = 62;

    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const uint ProgramHeaderInterpreter = 3; // PT_INTERP: names the dynamic loader
    private const uint ProgramHeaderNote = 4;
    private const int MaxProgramHeaders = 256;
    private const int MaxNoteSegmentBytes = 64 * 1024;

    private readonly List<(string Name, uint Type)> notes;

    private ElfFile(ushort machine, bool hasInterpreter, List<(string Name, uint Type)> notes)
    {
        Machine = machine;
        HasInterpreter = hasInterpreter;
        this.notes = notes;
    }

    /// <summary>e_machine: <see cref="MachineX86_64"/> for x86-64.</summary>
    public ushort Machine { get; }

    public bool HasInterpreter { get; }

    /// <summary>True when the file is a 64-bit little-endian ELF file that asks for a dynamic loader; false for static executables and anything unreadable.</summary>
    public static bool IsDynamicallyLinked(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return Read(file)?.HasInterpreter == true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The file's header, program headers and notes; null when it is not a well-formed 64-bit little-endian ELF file.</summary>
    public static ElfFile? Read(Stream file)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        file.Seek(0, SeekOrigin.Begin);
        if (file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize
            || !header[..4].SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
        {
            return null;
        }

        var programHeaderOffset = BinaryPrimitives.ReadInt64LittleEndian(header[0x20..]);
        var programHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x36..]);
        var programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[0x38..]);
        if (programHeaderOffset < HeaderSize || programHeaderSize < ProgramHeaderSize || programHeaderCount > MaxProgramHeaders)
        {
            return null;
        }

        var hasInterpreter = false;
        var notes = new List<(string Name, uint Type)>();
        Span<byte> programHeader = stackalloc byte[ProgramHeaderSize];
        for (var i = 0; i < programHeaderCount; i++)
        {
            file.Seek(programHeaderOffset + ((long)i * programHeaderSize), SeekOrigin.Begin);
            if (file.ReadAtLeast(programHeader, ProgramHeaderSize, throwOnEndOfStream: false) < ProgramHeaderSize)
            {
                return null;
            }

            var type = BinaryPrimitives.ReadUInt32LittleEndian(programHeader);
            hasInterpreter |= type == ProgramHeaderInterpreter;
            if (type == ProgramHeaderNote)
            {
                ReadNotes(file, BinaryPrimitives.ReadInt64LittleEndian(programHeader[0x08..]), BinaryPrimitives.ReadInt64LittleEndian(programHeader[0x20..]), notes);
            }
        }

        return new ElfFile(BinaryPrimitives.ReadUInt16LittleEndian(header[0x12..]), hasInterpreter, notes);
    }

    /// <summary>Whether a PT_NOTE segment holds a note of this owner name and type.</summary>
    public bool HasNote(string name, uint type) => notes.Contains((name, type));

    /// <summary>Notes are (namesz, descsz, type, name, desc), name and desc each padded to 4 bytes.</summary>
    private static void ReadNotes(Stream file, long offset, long size, List<(string Name, uint Type)> notes)
    {
        if (offset < 0 || size is <= 0 or > MaxNoteSegmentBytes)
        {
            return;
        }

        var segment = new byte[size];
        file.Seek(offset, SeekOrigin.Begin);
        var length = file.ReadAtLeast(segment, segment.Length, throwOnEndOfStream: false);
        var position = 0;
        while (length - position >= 12)
        {
            var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(segment.AsSpan(position));
            var descriptionSize = BinaryPrimitives.ReadUInt32LittleEndian(segment.AsSpan(position + 4));
            var type = BinaryPrimitives.ReadUInt32LittleEndian(segment.AsSpan(position + 8));
            var nameStart = position + 12;
            var descriptionStart = nameStart + Align4(nameSize);
            var next = descriptionStart + Align4(descriptionSize);
            if (nameSize > MaxNoteSegmentBytes || descriptionSize > MaxNoteSegmentBytes || next > length)
            {
                return;
            }

            notes.Add((Encoding.ASCII.GetString(segment, nameStart, (int)nameSize).TrimEnd('\0'), type));
            position = (int)next;
        }
    }

    private static long Align4(uint size) => (size + 3L) & ~3L;
}
