using System.Runtime.InteropServices;
using VmPs.Guest.Native;

namespace VmPs.Guest.Init;

/// <summary>The init's libc calls, turned into <see cref="InitException"/>s that say what failed.</summary>
internal static class SystemCalls
{
    public static void Mount(string? source, string target, string? type, ulong flags = 0, string? data = null)
    {
        Directory.CreateDirectory(target);
        if (Libc.mount(source, target, type, flags, data) < 0)
        {
            throw new InitException($"mount {type ?? "(move)"} {source} on {target} ({data}) failed: {LastError()}");
        }
    }

    public static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new InitException($"{what} failed: {LastError()}");
        }
    }

    private static string LastError() => Libc.ErrorText(Marshal.GetLastPInvokeError());
}
