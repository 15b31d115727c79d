namespace VmPs.Core.Vms;

/// <summary>
/// The key that ends Enter-Vm -Console: Ctrl+] (byte 0x1D), as in telnet and virsh console. Only the bytes the user
/// types are searched for it, never the guest's output, so nothing the guest prints can end the session or act on
/// the host. The key itself is not sent to the guest.
/// </summary>
public static class ConsoleDetachKey
{
    public const byte Byte = 0x1D;

    /// <summary>The key as help and messages name it.</summary>
    public const string Name = "Ctrl+]";

    /// <summary>How many bytes of <paramref name="typed"/> go to the guest: all of them, or those before the detach key when it is there.</summary>
    public static (int Forward, bool Detach) Scan(ReadOnlySpan<byte> typed) =>
        typed.IndexOf(Byte) is var index and >= 0 ? (index, true) : (typed.Length, false);
}
