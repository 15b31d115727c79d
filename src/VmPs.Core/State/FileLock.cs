using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.State;

/// <summary>
/// An exclusive advisory lock (flock) on a file, held across processes until disposed. Used
/// for long work (building an image) that must not run twice at once but should not hold the
/// database's write lock meanwhile. The descriptor is opened with open(2) because FileStream
/// takes flock locks of its own that would conflict with ours.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private const int OpenReadOnly = 0x0;
    private const int OpenReadWrite = 0x2;
    private const int OpenCreate = 0x40;
    private const int OpenCloseOnExec = 0x80000;
    private const uint Mode644 = 0b110_100_100;
    private const int LockShared = 1;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int WouldBlock = 11;
    private const int NoSuchFile = 2;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private int descriptor;

    private FileLock(int descriptor)
    {
        this.descriptor = descriptor;
    }

    public static Task<FileLock> AcquireAsync(string path, CancellationToken cancellationToken) =>
        AcquireAsync(path, LockExclusive, cancellationToken);

    /// <summary>
    /// A shared lock: any number of holders at once, none while someone holds it exclusively (the blob cache: adds
    /// share it while their blobs have no image yet, removal of unreferenced blobs takes it alone).
    /// </summary>
    public static Task<FileLock> AcquireSharedAsync(string path, CancellationToken cancellationToken) =>
        AcquireAsync(path, LockShared, cancellationToken);

    private static async Task<FileLock> AcquireAsync(string path, int operation, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var descriptor = Libc.open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, Mode644);
        if (descriptor < 0)
        {
            throw LockError(path);
        }

        try
        {
            while (Libc.flock(descriptor, operation | LockNonBlocking) != 0)
            {
                if (Marshal.GetLastPInvokeError() != WouldBlock)
                {
                    throw LockError(path);
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }

            return new FileLock(descriptor);
        }
        catch
        {
            _ = Libc.close(descriptor);
            throw;
        }
    }

    /// <summary>The lock if nobody holds it now, else null.</summary>
    public static FileLock? TryAcquire(string path)
    {
        var descriptor = Libc.open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, Mode644);
        if (descriptor < 0)
        {
            throw LockError(path);
        }

        if (Libc.flock(descriptor, LockExclusive | LockNonBlocking) == 0)
        {
            return new FileLock(descriptor);
        }

        var error = Marshal.GetLastPInvokeError();
        _ = Libc.close(descriptor);
        return error == WouldBlock ? null : throw LockError(path);
    }

    /// <summary>
    /// Whether some process holds the lock now (false when the file does not exist). Probing takes the lock for an
    /// instant when it is free, like any other <see cref="TryAcquire"/>.
    /// </summary>
    public static bool IsHeld(string path)
    {
        var descriptor = Libc.open(path, OpenReadOnly | OpenCloseOnExec, 0);
        if (descriptor < 0)
        {
            return Marshal.GetLastPInvokeError() == NoSuchFile ? false : throw LockError(path);
        }

        try
        {
            if (Libc.flock(descriptor, LockExclusive | LockNonBlocking) == 0)
            {
                return false;
            }

            return Marshal.GetLastPInvokeError() == WouldBlock ? true : throw LockError(path);
        }
        finally
        {
            _ = Libc.close(descriptor);
        }
    }

    /// <summary>Closing the descriptor releases the lock.</summary>
    public void Dispose()
    {
        var toClose = Interlocked.Exchange(ref descriptor, -1);
        if (toClose >= 0)
        {
            _ = Libc.close(toClose);
        }
    }

    private static IOException LockError(string path) =>
        new($"Cannot lock '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.");
}
