using System.Buffers.Binary;
using VmPs.Core.Boot;

namespace VmPs.Tests.Guest;

public class GuestBinaryTests
{
    private const uint ProgramHeaderInterpreter = 3;

    [Fact]
    public void The_guest_is_a_static_executable_that_runs_in_any_root_filesystem()
    {
        var elf = File.ReadAllBytes(GuestBinary.Locate());

        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, elf[..4]);
        var programHeaders = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x20));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x36));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x38));
        var types = Enumerable.Range(0, count)
            .Select(i => BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)programHeaders + (i * entrySize))))
            .ToArray();

        // No PT_INTERP: no dynamic loader is needed, so glibc and musl images alike can run it.
        Assert.DoesNotContain(ProgramHeaderInterpreter, types);
    }
}
