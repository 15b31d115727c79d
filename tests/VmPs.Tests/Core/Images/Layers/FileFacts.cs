using System.Globalization;
using System.Runtime.InteropServices;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Images.Layers;

/// <summary>What stat(1) and lgetxattr(2) say about a path, without following a final symlink.</summary>
public sealed record FileFacts(string Type, string Mode, int Uid, int Gid, long MtimeSeconds, int Major, int Minor, int Links, long Inode)
{
    public static async Task<FileFacts> OfAsync(string path)
    {
        var result = await ExternalTool.RunCheckedAsync("stat", ["-c", "%F|%a|%u|%g|%Y|%t|%T|%h|%i", path], CancellationToken.None);
        var parts = result.StandardOutput.Trim().Split('|');
        return new FileFacts(
            parts[0],
            parts[1],
            int.Parse(parts[2], CultureInfo.InvariantCulture),
            int.Parse(parts[3], CultureInfo.InvariantCulture),
            long.Parse(parts[4], CultureInfo.InvariantCulture),
            int.Parse(parts[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            int.Parse(parts[6], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            int.Parse(parts[7], CultureInfo.InvariantCulture),
            long.Parse(parts[8], CultureInfo.InvariantCulture));
    }

    public static byte[]? ExtendedAttribute(string path, string name)
    {
        var buffer = new byte[4096];
        var length = lgetxattr(path, name, buffer, (nuint)buffer.Length);
        return length < 0 ? null : buffer[..(int)length];
    }

    public static void SetExtendedAttribute(string path, string name, byte[] value)
    {
        if (lsetxattr(path, name, value, (nuint)value.Length, 0) != 0)
        {
            throw new IOException($"lsetxattr {name} on {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int lsetxattr(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        byte[] value,
        nuint size,
        int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint lgetxattr(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        byte[] value,
        nuint size);
}
