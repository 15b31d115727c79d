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
/// frames on the exec's channel; ExecExit follows once the child has exited and both pipes reached EOF.
/// </summary>
internal sealed class ExecProcess
{
    private const int ReadChunk = 32 * 1024;

    private readonly uint _channel;
    private readonly FrameWriter _writer;
    private readonly FileStream _stdin;
    private readonly FileStream _stdout;
    private readonly FileStream _stderr;
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
        try
        {
            var options = new SpawnOptions(executable, argv, environment, request.WorkingDirectory ?? context.DefaultWorkingDirectory, identity, stdinRead, stdoutWrite, stderrWrite);
            exec.Pid = context.Children.Spawn(options, exit => exec._exit.TrySetResult(exit));
        }
        catch
        {
            exec.DisposeStreams();
            throw;
        }
        finally
        {
            Libc.close(stdinRead);
            Libc.close(stdoutWrite);
            Libc.close(stderrWrite);
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

    public void Signal(int signal)
    {
        if (!HasExited)
        {
            Libc.kill(Pid, signal);
        }
    }

    /// <summary>Ends the exec because its session is gone: nobody will read its output any more.</summary>
    public void Abandon()
    {
        _outputUndeliverable = true;
        CloseStdin();
        Signal(Libc.SIGKILL);
    }

    private async Task ReportExitAsync(Task stdoutDone, Task stderrDone)
    {
        var exit = await _exit.Task.ConfigureAwait(false);
        await Task.WhenAll(stdoutDone, stderrDone).ConfigureAwait(false);
        CloseStdin();
        await SendAsync(FrameType.ExecExit, JsonPayload(new ExecExitMessage(exit.ExitCode, exit.Signal))).ConfigureAwait(false);
    }

    private Task PumpOnThread(FileStream source, FrameType type)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var buffer = new byte[ReadChunk];
                int read;
                while ((read = source.Read(buffer)) > 0)
                {
                    SendAsync(type, buffer.AsMemory(0, read)).GetAwaiter().GetResult();
                }
            }
            catch (IOException)
            {
                // The pipe broke: treat as end of output.
            }
            finally
            {
                source.Dispose();
                done.SetResult();
            }
        })
        { IsBackground = true, Name = $"exec-{_channel}-{type}" };
        thread.Start();
        return done.Task;
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
        _stdin.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
    }

    private static unsafe (int Read, int Write) CreatePipe()
    {
        var fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC) < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot create a pipe: {Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}.");
        }

        return (fds[0], fds[1]);
    }

    private static FileStream OpenFd(int fd, FileAccess access) => new(new SafeFileHandle(fd, ownsHandle: true), access, bufferSize: 0);
}
