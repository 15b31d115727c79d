using System.Runtime.InteropServices;

namespace VmPs.Core.State;

/// <summary>
/// An exclusive advisory lock (flock) on a file, held across processes until disposed. Used
/// for long work (building an image) that must not run twice at once but should not hold the
/// database's write lock meanwhile.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int WouldBlock = 11;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly FileStream file;

    private FileLock(FileStream file)
    {
        this.file = file;
    }

    public static async Task<FileLock> AcquireAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            while (flock((int)file.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != WouldBlock)
                {
                    throw new IOException($"Cannot lock '{path}': {Marshal.GetPInvokeErrorMessage(error)}.");
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }

            return new FileLock(file);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closing the descriptor releases the lock.</summary>
    public void Dispose() => file.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int flock(int fd, int operation);
}
