using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Terminals;

/// <summary>
/// Reads the local terminal's bytes on a thread of its own and hands each read to a sender, until input ends,
/// the sender fails, or <see cref="Dispose"/>. It waits in poll() beside a wake-up pipe and reads only what is
/// there, so once disposed it never takes a keystroke that belongs to pwsh's prompt.
/// </summary>
public sealed class TerminalInputPump : IDisposable
{
    private const short PollIn = 1;
    private const int Interrupted = 4; // EINTR

    private readonly int inputFd;
    private readonly int[] wake = new int[2];
    private readonly Func<ReadOnlyMemory<byte>, Task> send;
    private readonly Thread thread;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TerminalInputPump(int inputFd, Func<ReadOnlyMemory<byte>, Task> send)
    {
        if (Libc.pipe(wake) != 0)
        {
            throw new IOException($"Cannot create a pipe: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        this.inputFd = inputFd;
        this.send = send;
        thread = new Thread(Run) { IsBackground = true, Name = "Guest terminal input" };
    }

    /// <summary>Completes when the pump stopped by itself: input ended, or the sender failed (faulted then).</summary>
    public Task Stopped => stopped.Task;

    public static TerminalInputPump Start(int inputFd, Func<ReadOnlyMemory<byte>, Task> send)
    {
        var pump = new TerminalInputPump(inputFd, send);
        pump.thread.Start();
        return pump;
    }

    public void Dispose()
    {
        Libc.write(wake[1], [1], 1);
        thread.Join();
        Libc.close(wake[0]);
        Libc.close(wake[1]);
    }

    private void Run()
    {
        var buffer = new byte[4096];
        var fds = new Libc.PollFd[2];
        try
        {
            while (true)
            {
                fds[0] = new Libc.PollFd { Fd = inputFd, Events = PollIn };
                fds[1] = new Libc.PollFd { Fd = wake[0], Events = PollIn };
                if (Libc.poll(fds, 2, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Interrupted)
                    {
                        continue;
                    }

                    break;
                }

                if (fds[1].ReturnedEvents != 0)
                {
                    break;
                }

                var read = ReadRetrying(buffer);
                if (read <= 0)
                {
                    break;
                }

                send(buffer.AsMemory(0, (int)read).ToArray()).GetAwaiter().GetResult();
            }

            stopped.TrySetResult();
        }
        catch (Exception error)
        {
            stopped.TrySetException(error);
        }
    }

    private nint ReadRetrying(byte[] buffer)
    {
        nint read;
        do
        {
            read = Libc.read(inputFd, buffer, buffer.Length);
        }
        while (read < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        return read;
    }
}
