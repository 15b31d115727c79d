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
    private const int Unlock = 8;
    private const int WouldBlock = 11;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly SafeFileHandle handle;
    private readonly string path;
    private bool deleteOnDispose;

    private FileLock(SafeFileHandle handle, string path)
    {
        this.handle = handle;
        this.path = path;
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
        while (true)
        {
            var handle = Open(path);
            try
            {
                if (!TryLock(handle, LockExclusive, path))
                {
                    handle.Dispose();
                    return null;
                }

                if (IsStillNamed(handle, path))
                {
                    return new FileLock(handle, path);
                }
            }
            catch
            {
                handle.Dispose();
                throw;
            }

            handle.Dispose();
        }
    }

    /// <summary>
    /// Removes the lock file when nobody holds it (its owner, an image or a VM, is gone); false when it is held. It is
    /// unlinked while locked, and every acquirer checks after locking that the path still names the file it locked
    /// (else it opens the path again), so no two processes ever hold "the" lock on different files.
    /// </summary>
    public static bool DeleteIfFree(string path)
    {
        if (!File.Exists(path))
        {
            return true;
        }

        using var free = TryAcquire(path);
        if (free is null)
        {
            return false;
        }

        File.Delete(path);
        return true;
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

    /// <summary>
    /// Removes the lock file when the lock is released (a lock per image name: it exists only while its add runs). Safe
    /// while held: an acquirer that opened the old file sees that the path no longer names it and opens it again.
    /// </summary>
    public FileLock DeleteOnDispose()
    {
        deleteOnDispose = true;
        return this;
    }

    /// <summary>
    /// Releases the lock, then closes the descriptor. Closing alone would not be enough: a child this process forks
    /// holds a copy of the descriptor until it execs, and the lock lasts while any copy is open, so another taker could
    /// find it held a moment after it was given up.
    /// </summary>
    public void Dispose()
    {
        if (handle.IsClosed)
        {
            return;
        }

        if (deleteOnDispose && IsStillNamed(handle, path))
        {
            File.Delete(path);
        }

        Libc.flock((int)handle.DangerousGetHandle(), Unlock);
        handle.Dispose();
    }

    private static async Task<FileLock> AcquireAsync(string path, int operation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var handle = Open(path);
        try
        {
            var waited = Stopwatch.StartNew();
            while (!TryLock(handle, operation, path) || !IsStillNamed(handle, path))
            {
                if (!IsStillNamed(handle, path))
                {
                    // Deleted (DeleteIfFree) between our open and our lock: lock the file the path names now.
                    handle.Dispose();
                    handle = Open(path);
                    continue;
                }

                if (waited.Elapsed >= timeout)
                {
                    throw TimedOut(path, handle, timeout);
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }

            return new FileLock(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static bool IsStillNamed(SafeFileHandle handle, string path) =>
        UnixFileSystem.TryGetStatus(path)?.Inode == UnixDirectoryCalls.GetStatus(handle).Inode;

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
