using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.State;
using VmPs.Protocol.Files;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Native;

namespace VmPs.Tests.Core.State;

/// <summary>
/// Lock waits have deadlines: a lock another process holds (util-linux flock(1), a real holder) fails the wait after
/// its timeout with LockTimeout naming that process, cancellation ends a wait at once, and lock files are 0600.
/// </summary>
public sealed class FileLockTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    [RequiresProgramFact("flock")]
    public async Task AWaitForALockAnotherProcessHoldsFailsAfterItsTimeoutNamingTheHolder()
    {
        var path = scratch.Combine("work.lock");
        using var holder = await HoldAsync(path);

        var waited = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<VmPsException>(() => FileLock.AcquireAsync(path, TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.LockTimeout, error.ErrorId);
        Assert.Equal(VmPsErrorKind.OperationTimeout, error.Kind);
        Assert.Equal(path, error.Target);
        Assert.Contains($"process {holder.Id}", error.Message, StringComparison.Ordinal);
        Assert.True(waited.Elapsed >= TimeSpan.FromMilliseconds(300));
        Assert.Null(FileLock.TryAcquire(path));
        Assert.True(FileLock.IsHeld(path));
    }

    [RequiresProgramFact("flock")]
    public async Task AWaitForAHeldLockEndsWhenCancelled()
    {
        var path = scratch.Combine("work.lock");
        using var holder = await HoldAsync(path);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FileLock.AcquireSharedAsync(path, TimeSpan.FromMinutes(10), cancellation.Token));
    }

    [RequiresProgramFact("flock")]
    public async Task TheAgentPortLockWaitsOnlyUntilItsTimeout()
    {
        var socket = scratch.Combine("agent.sock");
        using var holder = await HoldAsync(socket + ".lock");
        var connector = new AgentVirtioSerialConnector(socket, TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<VmPsException>(() => connector.ConnectAsync(CancellationToken.None));

        Assert.Equal(VmPsErrorIds.LockTimeout, error.ErrorId);
        Assert.Contains($"process {holder.Id}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockFilesAreCreatedPrivateAndAFreeLockIsTakenAtOnce()
    {
        var path = scratch.Combine("new", "work.lock");

        using (await FileLock.AcquireAsync(path, TimeSpan.Zero, CancellationToken.None))
        {
            Assert.True(FileLock.IsHeld(path));
        }

        Assert.False(FileLock.IsHeld(path));
        Assert.Equal(0b110_000_000, UnixFileSystem.GetStatus(path).Mode);
        Assert.Equal(0b111_000_000, UnixFileSystem.GetStatus(scratch.Combine("new")).Mode);
    }

    [Fact]
    public async Task LockFilesGoWithTheirOwnersAndOnlyWhenFree()
    {
        var path = scratch.Combine("name.lock");
        var owner = (await FileLock.AcquireAsync(path, TimeSpan.Zero, CancellationToken.None)).DeleteOnDispose();

        Assert.False(FileLock.DeleteIfFree(path));
        Assert.True(File.Exists(path));
        owner.Dispose();
        Assert.False(File.Exists(path));

        using (await FileLock.AcquireAsync(path, TimeSpan.Zero, CancellationToken.None))
        {
        }

        Assert.True(FileLock.DeleteIfFree(path));
        Assert.False(File.Exists(path));
        using var again = await FileLock.AcquireAsync(path, TimeSpan.Zero, CancellationToken.None);
        Assert.True(FileLock.IsHeld(path));
    }

    [Fact]
    public void A_released_lock_is_free_at_once_while_a_copy_of_its_descriptor_is_still_open()
    {
        // A child forked while the lock was held keeps such a copy until it execs.
        var path = scratch.Combine("work.lock");
        var held = FileLock.TryAcquire(path)!;
        var copy = TestLibc.dup(DescriptorOf(path));
        Assert.True(copy >= 0);
        try
        {
            held.Dispose();
            using var again = FileLock.TryAcquire(path);
            Assert.NotNull(again);
        }
        finally
        {
            VmPs.Core.Native.Libc.close(copy);
        }
    }

    public void Dispose() => scratch.Dispose();

    /// <summary>This process's descriptor open on <paramref name="path"/> (/proc/self/fd links to what each one opened).</summary>
    private static int DescriptorOf(string path) =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Where(link => UnixFileSystem.TryGetStatus(link) is not null && new FileInfo(link).LinkTarget == path)
            .Select(link => int.Parse(Path.GetFileName(link), System.Globalization.CultureInfo.InvariantCulture))
            .Single();

    /// <summary>flock(1) holding <paramref name="path"/> until killed; returns once the lock is held.</summary>
    private static async Task<HeldLock> HoldAsync(string path)
    {
        var process = Process.Start(new ProcessStartInfo("flock", ["--exclusive", path, "sleep", "60"]))!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!FileLock.IsHeld(path))
        {
            Assert.True(DateTime.UtcNow < deadline, "flock(1) did not take the lock within 30 s");
            await Task.Delay(20);
        }

        return new HeldLock(process);
    }

    private sealed class HeldLock(Process process) : IDisposable
    {
        public int Id => process.Id;

        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }
}
