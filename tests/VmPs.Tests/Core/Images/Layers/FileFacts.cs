using System.Globalization;
using System.Runtime.InteropServices;
using VmPs.Protocol.Native;
using VmPs.Core.Processes;
using VmPs.Tests.Native;

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
        var length = TestLibc.lgetxattr(path, name, buffer, (nuint)buffer.Length);
        return length < 0 ? null : buffer[..(int)length];
    }

    public static void SetExtendedAttribute(string path, string name, byte[] value)
    {
        if (Libc.lsetxattr(path, name, value, (nuint)value.Length, 0) != 0)
        {
            throw new IOException($"lsetxattr {name} on {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
