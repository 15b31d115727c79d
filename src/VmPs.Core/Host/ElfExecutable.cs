using System.Buffers.Binary;

namespace VmPs.Core.Host;

/// <summary>Just enough ELF reading to tell a static executable from a dynamically linked one.</summary>
internal static class ElfExecutable
{
    private const uint ProgramHeaderInterpreter = 3; // PT_INTERP: names the dynamic loader

    /// <summary>True when the 64-bit little-endian ELF file asks for a dynamic loader; false for static executables and anything unreadable.</summary>
    public static bool IsDynamicallyLinked(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> header = stackalloc byte[64];
            if (file.Read(header) < header.Length || !header[..4].SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
            {
                return false;
            }

            var programHeaderOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..]);
            var programHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x36..]);
            var programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[0x38..]);
            Span<byte> type = stackalloc byte[4];
            for (var i = 0; i < programHeaderCount; i++)
            {
                file.Seek(programHeaderOffset + ((long)i * programHeaderSize), SeekOrigin.Begin);
                if (file.Read(type) == type.Length && BinaryPrimitives.ReadUInt32LittleEndian(type) == ProgramHeaderInterpreter)
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
}
