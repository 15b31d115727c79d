using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Guest.Processes;
using VmPs.Protocol;
using VmPs.Protocol.Flow;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>
/// One exec of a session: a child with pipes for stdin, stdout and stderr, or with a pseudo-terminal.
/// Output is streamed as frames on the exec's channel, each sent against output credit the host returns
/// as it consumes (so a slow host stops the child through a full pipe, not through agent memory); stdin
/// credit goes back once a chunk was written to the child. ExecExit follows once the child has exited and
/// everything it wrote was forwarded. Output of background processes it left behind (a daemon started
/// with &amp;, which keeps the pipes open) is drained and dropped after that, so the exec ends and the daemon never blocks.
/// </summary>
internal sealed class ExecProcess
{
    private const int ReadChunk = 32 * 1024;
    private const string DefaultTerminalType = "xterm";

    private readonly uint channel;
    private readonly FrameWriter writer;
    private readonly ExecIo io;

    // Becomes readable when the child has exited: wakes the output pumps waiting in poll.
    private readonly (SafeFileHandle Read, SafeFileHandle Write) exited = ExecIo.CreatePipe(Libc.O_NONBLOCK);
    private readonly Channel<ReadOnlyMemory<byte>> stdinQueue = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CreditWindow outputCredit = new(ExecFlowControl.OutputWindow);
    private readonly TaskCompletionSource<ChildExit> exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long stdinQueued;
    private volatile bool outputUndeliverable;

    private ExecProcess(uint channel, FrameWriter writer, ExecIo io)
    {
        this.channel = channel;
        this.writer = writer;
        this.io = io;
    }

    public int Pid { get; private set; }

    public bool HasExited => exit.Task.IsCompleted;

    /// <summary>Starts the child; output flows only after <see cref="StartStreaming"/>, so ExecStarted can go first.</summary>
    public static ExecProcess Spawn(ExecStartMessage request, uint channel, FrameWriter writer, AgentContext context)
    {
        if (request.Argv is not { Count: > 0 } argv || string.IsNullOrEmpty(argv[0]) || argv.Any(argument => argument is null))
        {
            throw new GuestException(ErrorCodes.BadRequest, "An exec needs an argv whose first element names the command.");
        }

        if (request.Environment?.Any(entry => entry is null || entry.IndexOf('=') <= 0) == true)
        {
            throw new GuestException(ErrorCodes.BadRequest, "Every environment entry must be KEY=VALUE.");
        }

        var terminalSize = request.TerminalSize ?? TerminalSizeMessage.Default;
        if (request.Tty && !terminalSize.IsValid)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"A terminal of {terminalSize.Columns}x{terminalSize.Rows} is not possible: columns and rows must be 1-65535.");
        }

        var identity = request.User is null ? null : UserDatabase.Resolve(request.User);
        var environment = EnvironmentBlock.Merge(context.BaseEnvironment, request.Environment);
        if (identity is not null)
        {
            environment = EnvironmentBlock.WithDefault(environment, "HOME", identity.Home);
        }

        if (request.Tty)
        {
            environment = EnvironmentBlock.WithDefault(environment, "TERM", DefaultTerminalType);
        }

        var executable = ExecutableResolver.Resolve(argv[0], environment);
        var io = request.Tty ? ExecIo.PseudoTerminal(terminalSize) : ExecIo.Pipes();
        var exec = new ExecProcess(channel, writer, io);
        try
        {
            var options = new SpawnOptions(
                executable,
                argv,
                environment,
                request.WorkingDirectory ?? context.DefaultWorkingDirectory,
                identity,
                io.ChildStdinFd,
                io.ChildStdoutFd,
                io.ChildStderrFd,
                ControllingTerminal: request.Tty);
            exec.Pid = context.Children.Spawn(options, exec.OnExit);
            io.CloseChildEnds();
        }
        catch
        {
            exec.DisposeStreams();
            throw;
        }

        return exec;
    }

    /// <summary>Starts forwarding output and stdin; the task completes after ExecExit was sent (or could not be).</summary>
    public Task StartStreaming()
    {
        var forwarded = io.Outputs.Select(output => PumpOnThread(output.Source, output.Type)).ToArray();
        _ = Task.Run(WriteStdinAsync);
        return ReportExitAsync(forwarded);
    }

    /// <summary>Queues stdin for the child; a host that sends beyond its stdin window breaks the protocol.</summary>
    public void WriteStdin(ReadOnlyMemory<byte> data)
    {
        if (Interlocked.Add(ref stdinQueued, data.Length) > ExecFlowControl.StdinWindow)
        {
            Interlocked.Add(ref stdinQueued, -data.Length);
            throw new GuestException(ErrorCodes.BadRequest, $"Stdin beyond the window of {ExecFlowControl.StdinWindow} bytes was dropped: wait for StdinCredit.");
        }

        if (!stdinQueue.Writer.TryWrite(data.ToArray()))
        {
            // Stdin was closed already: the bytes have no reader, the credit goes straight back.
            Interlocked.Add(ref stdinQueued, -data.Length);
            _ = ReturnStdinCreditAsync(data.Length);
        }
    }

    /// <summary>No more stdin. On a terminal this only ends the host's input (the terminal stays the child's stdin).</summary>
    public void CloseStdin() => stdinQueue.Writer.TryComplete();

    public void ReturnOutputCredit(int bytes) => outputCredit.Return(bytes);

    /// <summary>Changes the window size of a TTY exec's terminal; its foreground process group gets SIGWINCH.</summary>
    public void Resize(TerminalSizeMessage size)
    {
        if (io.Terminal is not { } terminal)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"The exec on channel {channel} has no terminal to resize.");
        }

        if (!size.IsValid)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"A terminal of {size.Columns}x{size.Rows} is not possible: columns and rows must be 1-65535.");
        }

        try
        {
            var result = NativeMethods.SetWindowSize(terminal, (ushort)size.Columns, (ushort)size.Rows);
            if (result < 0)
            {
                throw new GuestException(ErrorCodes.ExecFailed, $"Cannot resize the terminal: {Libc.ErrorText(-result)}.");
            }
        }
        catch (ObjectDisposedException)
        {
            // The terminal closed with the process: nothing left to resize.
        }
    }

    /// <summary>Signals the process, or its whole process group (it leads one: execs start in a new session).</summary>
    public void Signal(int signal, bool processGroup)
    {
        if (processGroup)
        {
            Libc.kill(-Pid, signal);
        }
        else if (!HasExited)
        {
            Libc.kill(Pid, signal);
        }
    }

    /// <summary>
    /// Ends the exec because its session is gone: nobody will read its output any more. Its process group is
    /// killed only while its process runs: once that exited, what it left running in the background (a daemon
    /// that has not yet called setsid) was meant to outlive it, even when the host closes the connection at once.
    /// </summary>
    public void Abandon()
    {
        outputUndeliverable = true;
        outputCredit.Close();
        CloseStdin();
        if (!HasExited)
        {
            Signal(Libc.SIGKILL, processGroup: true);
        }
    }

    private async Task ReportExitAsync(Task[] outputsForwarded)
    {
        var exit = await this.exit.Task.ConfigureAwait(false);
        await Task.WhenAll(outputsForwarded).ConfigureAwait(false);
        exited.Read.Dispose();
        exited.Write.Dispose();
        CloseStdin();
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ExecExitMessage(exit.ExitCode, exit.Signal), ProtocolJsonContext.Default.ExecExitMessage);
        await SendAsync(FrameType.ExecExit, payload).ConfigureAwait(false);
    }

    private unsafe void OnExit(ChildExit exit)
    {
        byte signal = 1;
        Libc.write((int)exited.Write.DangerousGetHandle(), &signal, 1);
        this.exit.TrySetResult(exit);
    }

    /// <summary>
    /// Forwards an output until the child has exited and it holds nothing more (or reached EOF), then
    /// completes the returned task and keeps reading, discarding, until EOF (a terminal master reports EIO then).
    /// </summary>
    private Task PumpOnThread(FileStream source, FrameType type)
    {
        var forwarded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var buffer = new byte[ReadChunk];
                while (true)
                {
                    if (!forwarded.Task.IsCompleted && !HasOutputOrEof(source))
                    {
                        forwarded.SetResult();
                    }

                    var read = source.Read(buffer);
                    if (read == 0)
                    {
                        break;
                    }

                    if (!forwarded.Task.IsCompleted && outputCredit.Take(read))
                    {
                        SendAsync(type, buffer.AsMemory(0, read)).GetAwaiter().GetResult();
                    }
                }
            }
            catch (IOException)
            {
                // The pipe broke, or the terminal hung up: treat as end of output.
            }
            finally
            {
                source.Dispose();
                forwarded.TrySetResult();
            }
        })
        { IsBackground = true, Name = $"exec-{channel}-{type}" };
        thread.Start();
        return forwarded.Task;
    }

    /// <summary>Waits until the output can be read (data or EOF): true; or the child exited with it empty: false.</summary>
    private unsafe bool HasOutputOrEof(FileStream source)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = (int)source.SafeFileHandle.DangerousGetHandle(), Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = (int)exited.Read.DangerousGetHandle(), Events = Libc.POLLIN };
        while (Libc.poll(fds, 2, -1) < 0)
        {
            if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Libc.EINTR)
            {
                return true;
            }
        }

        return fds[0].ReturnedEvents != 0;
    }

    private async Task WriteStdinAsync()
    {
        var writable = true;
        try
        {
            await foreach (var chunk in stdinQueue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (writable)
                {
                    try
                    {
                        await io.Stdin.WriteAsync(chunk).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        // The child closed its stdin (EPIPE): the rest of the input has no reader.
                        writable = false;
                    }
                }

                Interlocked.Add(ref stdinQueued, -chunk.Length);
                await ReturnStdinCreditAsync(chunk.Length).ConfigureAwait(false);
            }
        }
        finally
        {
            io.Stdin.Dispose();
        }
    }

    private async Task ReturnStdinCreditAsync(int bytes)
    {
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new CreditMessage(bytes), ProtocolJsonContext.Default.CreditMessage);
        await SendAsync(FrameType.StdinCredit, payload).ConfigureAwait(false);
    }

    /// <summary>Sends a frame unless the host is gone; output is still drained so the child never blocks on a full pipe.</summary>
    private async Task SendAsync(FrameType type, ReadOnlyMemory<byte> payload)
    {
        if (outputUndeliverable)
        {
            return;
        }

        try
        {
            await writer.WriteAsync(type, channel, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            outputUndeliverable = true;
            outputCredit.Close();
        }
    }

    private void DisposeStreams()
    {
        exited.Read.Dispose();
        exited.Write.Dispose();
        io.Dispose();
    }
}
