using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Native;
using VmPs.Protocol.Files;

namespace VmPs.Core.State;

/// <summary>
/// An advisory lock (flock) on a file, held across processes until disposed. Used for long work (building an image)
/// that must not run twice at once but should not hold the database's write lock meanwhile. The lock file is 0600
/// (<see cref="PrivateFiles"/>), so no other user can take it and stall VmPs. Every wait has a deadline and honours
/// its cancellation token: past the deadline it fails with <see cref="VmPsErrorIds.LockTimeout"/>, naming the process
/// that holds the lock when the kernel tells (/proc/locks). The descriptor is opened with openat(2) because
/// FileStream takes flock locks of its own that would conflict with ours.
/// </summary>
internal sealed class FileLock : IDisposable
{
    /// <summary>How long a build or sweep lock is waited for unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    private const int LockShared = 1;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int WouldBlock = 11;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly SafeFileHandle handle;

    private FileLock(SafeFileHandle handle)
    {
        this.handle = handle;
    }

    /// <summary>The lock held alone, waited for at most <paramref name="timeout"/>.</summary>
    public static Task<FileLock> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireAsync(path, LockExclusive, timeout, cancellationToken);

    /// <summary>
    /// A shared lock: any number of holders at once, none while someone holds it exclusively (the blob cache: adds
    /// share it while their blobs have no image yet, removal of unreferenced blobs takes it alone).
    /// </summary>
    public static Task<FileLock> AcquireSharedAsync(string path, TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireAsync(path, LockShared, timeout, cancellationToken);

    /// <summary>The lock if nobody holds it now, else null.</summary>
    public static FileLock? TryAcquire(string path)
    {
        var handle = Open(path);
        try
        {
            if (TryLock(handle, LockExclusive, path))
            {
                return new FileLock(handle);
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        handle.Dispose();
        return null;
    }

    /// <summary>
    /// Whether some process holds the lock now (false when the file does not exist). Probing takes the lock for an
    /// instant when it is free, like any other <see cref="TryAcquire"/>.
    /// </summary>
    public static bool IsHeld(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = UnixDirectoryCalls.Open(UnixDirectoryCalls.CurrentDirectory, path, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenNoFollow);
        }
        catch (FileOperationException error) when (error.Code == Protocol.Messages.FileErrorCodes.NotFound)
        {
            return false;
        }

        using (handle)
        {
            return !TryLock(handle, LockExclusive, path);
        }
    }

    /// <summary>Closing the descriptor releases the lock.</summary>
    public void Dispose() => handle.Dispose();

    private static async Task<FileLock> AcquireAsync(string path, int operation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var handle = Open(path);
        try
        {
            var waited = Stopwatch.StartNew();
            while (!TryLock(handle, operation, path))
            {
                if (waited.Elapsed >= timeout)
                {
                    throw TimedOut(path, handle, timeout);
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }

            return new FileLock(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafeFileHandle Open(string path)
    {
        try
        {
            PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return PrivateFiles.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        }
        catch (FileOperationException error)
        {
            throw LockError(path, error.Message, error);
        }
    }

    private static bool TryLock(SafeFileHandle handle, int operation, string path)
    {
        if (Libc.flock((int)handle.DangerousGetHandle(), operation | LockNonBlocking) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == WouldBlock ? false : throw LockError(path, Marshal.GetPInvokeErrorMessage(errno));
    }

    private static VmPsException TimedOut(string path, SafeFileHandle handle, TimeSpan timeout)
    {
        var owners = Holders(UnixDirectoryCalls.GetStatus(handle).Inode);
        var heldBy = owners.Count == 0 ? "another process" : "process " + string.Join(", ", owners);
        return new VmPsException(
            VmPsErrorIds.LockTimeout,
            VmPsErrorKind.OperationTimeout,
            $"The lock '{path}' is held by {heldBy}; gave up waiting after {timeout.TotalSeconds:0.#} s.",
            path)
        {
            RecommendedAction = "Wait for the other command to finish (or stop it), then try again.",
        };
    }

    /// <summary>The pids /proc/locks names for flock locks on this inode (inode numbers are per file system, so a match on another one is possible but rare).</summary>
    private static List<int> Holders(ulong inode)
    {
        var holders = new List<int>();
        try
        {
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's line starts "1: -> FLOCK".
            foreach (var fields in File.ReadLines("/proc/locks").Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                if (fields.Length >= 6 && fields[1] == "FLOCK"
                    && fields[5].Split(':') is [_, _, var number] && ulong.TryParse(number, CultureInfo.InvariantCulture, out var lockedInode) && lockedInode == inode
                    && int.TryParse(fields[4], CultureInfo.InvariantCulture, out var pid) && !holders.Contains(pid))
                {
                    holders.Add(pid);
                }
            }
        }
        catch (IOException)
        {
            // No /proc/locks: the owner stays unnamed.
        }

        return holders;
    }

    private static VmPsException LockError(string path, string reason, Exception? inner = null) => new(
        VmPsErrorIds.LockFailed,
        VmPsErrorKind.ResourceUnavailable,
        $"Cannot lock '{path}': {reason}.",
        path,
        inner);
}
