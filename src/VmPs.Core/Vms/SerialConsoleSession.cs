using VmPs.Core.State;

namespace VmPs.Core.Vms;

/// <summary>How an attached serial console session ended.</summary>
public enum SerialConsoleEnd
{
    /// <summary>The user typed the detach key (<see cref="ConsoleDetachKey"/>); the VM runs on.</summary>
    Detached,

    /// <summary>The VM's console went away: the VM stopped.</summary>
    ConsoleClosed,
}

/// <summary>
/// A terminal's attachment to a running VM's serial console (Enter-Vm -Console): the user's keystrokes go to the guest
/// (<see cref="SendAsync"/>) up to the detach key; the guest's console output is copied unchanged to the caller's
/// output (<see cref="RunAsync"/>). Guest bytes are passed on, never interpreted. Holds the VM's console lock, so a
/// second session is refused rather than left waiting.
/// </summary>
public sealed class SerialConsoleSession : IAsyncDisposable
{
    private readonly Stream console;
    private readonly FileLock consoleLock;
    private readonly CancellationTokenSource detached = new();

    internal SerialConsoleSession(Stream console, FileLock consoleLock)
    {
        this.console = console;
        this.consoleLock = consoleLock;
    }

    /// <summary>True once the user typed the detach key.</summary>
    public bool IsDetached => detached.IsCancellationRequested;

    /// <summary>Sends what the user typed, up to the detach key; from the key on nothing is sent and the session ends.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> typed, CancellationToken cancellationToken)
    {
        if (IsDetached)
        {
            return;
        }

        var (forward, detach) = ConsoleDetachKey.Scan(typed.Span);
        if (forward > 0)
        {
            await console.WriteAsync(typed[..forward], cancellationToken).ConfigureAwait(false);
            await console.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        if (detach)
        {
            await detached.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Copies the guest's console output to <paramref name="output"/> until the user detaches or the console closes.</summary>
    public async Task<SerialConsoleEnd> RunAsync(Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, detached.Token);
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await console.ReadAsync(buffer, reading.Token).ConfigureAwait(false)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (IsDetached && !cancellationToken.IsCancellationRequested)
        {
            return SerialConsoleEnd.Detached;
        }
        catch (IOException) when (!IsDetached)
        {
            // The hypervisor closed the socket hard as it ended.
        }

        return IsDetached ? SerialConsoleEnd.Detached : SerialConsoleEnd.ConsoleClosed;
    }

    public async ValueTask DisposeAsync()
    {
        await console.DisposeAsync().ConfigureAwait(false);
        consoleLock.Dispose();
        detached.Dispose();
    }
}
