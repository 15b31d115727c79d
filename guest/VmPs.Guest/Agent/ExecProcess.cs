using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Guest.Processes;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>
/// One exec of a session: a child with pipes for stdin, stdout and stderr. Output is streamed as
/// frames on the exec's channel; ExecExit follows once the child has exited and everything it wrote
/// was forwarded. Output of background processes it left behind (a daemon started with &amp;, which
/// keeps the pipes open) is drained and dropped after that, so the exec ends and the daemon never blocks.
/// </summary>
internal sealed class ExecProcess
{
    private const int ReadChunk = 32 * 1024;

    private readonly uint _channel;
    private readonly FrameWriter _writer;
    private readonly FileStream _stdin;
    private readonly FileStream _stdout;
    private readonly FileStream _stderr;

    // Becomes readable when the child has exited: wakes the output pumps waiting in poll.
    private readonly (SafeFileHandle Read, SafeFileHandle Write) _exited = CreatePipe(Libc.O_NONBLOCK);
    private readonly Channel<ReadOnlyMemory<byte>> _stdinQueue = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<ChildExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _outputUndeliverable;

    private ExecProcess(uint channel, FrameWriter writer, FileStream stdin, FileStream stdout, FileStream stderr)
    {
        _channel = channel;
        _writer = writer;
        _stdin = stdin;
        _stdout = stdout;
        _stderr = stderr;
    }

    public int Pid { get; private set; }

    public bool HasExited => _exit.Task.IsCompleted;

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

        if (request.Tty)
        {
            throw new GuestException(ErrorCodes.Unsupported, "This agent does not support TTY execs yet.");
        }

        var identity = request.User is null ? null : UserDatabase.Resolve(request.User);
        var environment = EnvironmentBlock.Merge(context.BaseEnvironment, request.Environment);
        if (identity is not null)
        {
            environment = EnvironmentBlock.WithDefault(environment, "HOME", identity.Home);
        }

        var executable = ExecutableResolver.Resolve(argv[0], environment);
        var (stdinRead, stdinWrite) = CreatePipe();
        var (stdoutRead, stdoutWrite) = CreatePipe();
        var (stderrRead, stderrWrite) = CreatePipe();
        var exec = new ExecProcess(channel, writer, OpenFd(stdinWrite, FileAccess.Write), OpenFd(stdoutRead, FileAccess.Read), OpenFd(stderrRead, FileAccess.Read));
        using (stdinRead)
        using (stdoutWrite)
        using (stderrWrite)
        {
            try
            {
                var options = new SpawnOptions(
                    executable,
                    argv,
                    environment,
                    request.WorkingDirectory ?? context.DefaultWorkingDirectory,
                    identity,
                    (int)stdinRead.DangerousGetHandle(),
                    (int)stdoutWrite.DangerousGetHandle(),
                    (int)stderrWrite.DangerousGetHandle());
                exec.Pid = context.Children.Spawn(options, exec.OnExit);
            }
            catch
            {
                exec.DisposeStreams();
                throw;
            }
        }

        return exec;
    }

    /// <summary>Starts forwarding output and stdin; the task completes after ExecExit was sent (or could not be).</summary>
    public Task StartStreaming()
    {
        var stdoutDone = PumpOnThread(_stdout, FrameType.Stdout);
        var stderrDone = PumpOnThread(_stderr, FrameType.Stderr);
        _ = Task.Run(WriteStdinAsync);
        return ReportExitAsync(stdoutDone, stderrDone);
    }

    public void WriteStdin(ReadOnlyMemory<byte> data) => _stdinQueue.Writer.TryWrite(data.ToArray());

    public void CloseStdin() => _stdinQueue.Writer.TryComplete();

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

    /// <summary>Ends the exec because its session is gone: nobody will read its output any more.</summary>
    public void Abandon()
    {
        _outputUndeliverable = true;
        CloseStdin();
        Signal(Libc.SIGKILL, processGroup: true);
    }

    private async Task ReportExitAsync(Task stdoutForwarded, Task stderrForwarded)
    {
        var exit = await _exit.Task.ConfigureAwait(false);
        await Task.WhenAll(stdoutForwarded, stderrForwarded).ConfigureAwait(false);
        _exited.Read.Dispose();
        _exited.Write.Dispose();
        CloseStdin();
        await SendAsync(FrameType.ExecExit, JsonPayload(new ExecExitMessage(exit.ExitCode, exit.Signal))).ConfigureAwait(false);
    }

    private unsafe void OnExit(ChildExit exit)
    {
        byte signal = 1;
        Libc.write((int)_exited.Write.DangerousGetHandle(), &signal, 1);
        _exit.TrySetResult(exit);
    }

    /// <summary>
    /// Forwards a pipe until the child has exited and the pipe holds nothing more (or reached EOF), then
    /// completes the returned task and keeps reading, discarding, until EOF.
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

                    if (!forwarded.Task.IsCompleted)
                    {
                        SendAsync(type, buffer.AsMemory(0, read)).GetAwaiter().GetResult();
                    }
                }
            }
            catch (IOException)
            {
                // The pipe broke: treat as end of output.
            }
            finally
            {
                source.Dispose();
                forwarded.TrySetResult();
            }
        })
        { IsBackground = true, Name = $"exec-{_channel}-{type}" };
        thread.Start();
        return forwarded.Task;
    }

    /// <summary>Waits until the pipe can be read (data or EOF): true; or the child exited with the pipe empty: false.</summary>
    private unsafe bool HasOutputOrEof(FileStream source)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = (int)source.SafeFileHandle.DangerousGetHandle(), Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = (int)_exited.Read.DangerousGetHandle(), Events = Libc.POLLIN };
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
        try
        {
            await foreach (var chunk in _stdinQueue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await _stdin.WriteAsync(chunk).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The child closed its stdin (EPIPE): the rest of the input has no reader.
        }
        finally
        {
            _stdin.Dispose();
        }
    }

    /// <summary>Sends a frame unless the host is gone; output is still drained so the child never blocks on a full pipe.</summary>
    private async Task SendAsync(FrameType type, ReadOnlyMemory<byte> payload)
    {
        if (_outputUndeliverable)
        {
            return;
        }

        try
        {
            await _writer.WriteAsync(type, _channel, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            _outputUndeliverable = true;
        }
    }

    private static byte[] JsonPayload(ExecExitMessage message) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.ExecExitMessage);

    private void DisposeStreams()
    {
        _exited.Read.Dispose();
        _exited.Write.Dispose();
        _stdin.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
    }

    /// <summary>A close-on-exec pipe; the child's ends become its fds 0-2 through dup2, which clears the flag.</summary>
    private static unsafe (SafeFileHandle Read, SafeFileHandle Write) CreatePipe(int flags = 0)
    {
        var fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC | flags) < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot create a pipe: {Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}.");
        }

        return (new SafeFileHandle(fds[0], ownsHandle: true), new SafeFileHandle(fds[1], ownsHandle: true));
    }

    private static FileStream OpenFd(SafeFileHandle handle, FileAccess access) => new(handle, access, bufferSize: 0);
}
