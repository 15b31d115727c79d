using VmPs.Core.Native;

namespace VmPs.Core.State;

/// <summary>Which file a path names right now: its device and inode, as stat(2) reports them.</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    // st_dev and st_ino open struct stat on every 64-bit Linux ABI glibc and musl support.
    private const int StatBufferLength = 256;

    /// <summary>The identity of the file at <paramref name="path"/>, or null when there is none or it cannot be read.</summary>
    public static unsafe FileIdentity? Of(string path)
    {
        var buffer = stackalloc byte[StatBufferLength];
        try
        {
            if (Libc.stat(path, buffer) != 0)
            {
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.33 exports only __xstat: identity unknown, callers must assume a change.
            return null;
        }

        return new FileIdentity(*(ulong*)buffer, *(ulong*)(buffer + sizeof(ulong)));
    }
}
