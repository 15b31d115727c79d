using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>
/// The agent's ends of an exec's standard streams and the child's ends to hand over at spawn:
/// three pipes, or one pseudo-terminal whose slave is the child's fds 0-2 and controlling terminal.
/// </summary>
internal sealed class ExecIo : IDisposable
{
    private readonly (SafeFileHandle Stdin, SafeFileHandle Stdout, SafeFileHandle Stderr) childEnds;

    private ExecIo(FileStream stdin, IReadOnlyList<ExecOutput> outputs, SafeFileHandle? terminal, (SafeFileHandle, SafeFileHandle, SafeFileHandle) childEnds)
    {
        Stdin = stdin;
        Outputs = outputs;
        Terminal = terminal;
        this.childEnds = childEnds;
    }

    /// <summary>Where the host's stdin bytes go: the stdin pipe, or the terminal master (so ^C reaches the line discipline).</summary>
    public FileStream Stdin { get; }

    public IReadOnlyList<ExecOutput> Outputs { get; }

    /// <summary>The terminal master (for window size changes); null for a pipe exec.</summary>
    public SafeFileHandle? Terminal { get; }

    public int ChildStdinFd => (int)childEnds.Stdin.DangerousGetHandle();

    public int ChildStdoutFd => (int)childEnds.Stdout.DangerousGetHandle();

    public int ChildStderrFd => (int)childEnds.Stderr.DangerousGetHandle();

    public static ExecIo Pipes()
    {
        var (stdinRead, stdinWrite) = CreatePipe();
        var (stdoutRead, stdoutWrite) = CreatePipe();
        var (stderrRead, stderrWrite) = CreatePipe();
        return new ExecIo(
            Open(stdinWrite, FileAccess.Write),
            [new ExecOutput(Open(stdoutRead, FileAccess.Read), FrameType.Stdout), new ExecOutput(Open(stderrRead, FileAccess.Read), FrameType.Stderr)],
            terminal: null,
            (stdinRead, stdoutWrite, stderrWrite));
    }

    public static ExecIo PseudoTerminal(TerminalSizeMessage size)
    {
        var result = NativeMethods.OpenPty((ushort)size.Columns, (ushort)size.Rows, out var masterFd, out var slaveFd);
        if (result < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot open a pseudo-terminal: {Libc.ErrorText(-result)}.");
        }

        var master = new SafeFileHandle(masterFd, ownsHandle: true);
        var slave = new SafeFileHandle(slaveFd, ownsHandle: true);
        // Output is read on one thread while stdin is written on another: each gets its own descriptor of the master.
        var writerFd = Libc.fcntl(masterFd, Libc.F_DUPFD_CLOEXEC, 3);
        if (writerFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            master.Dispose();
            slave.Dispose();
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot duplicate the pseudo-terminal master: {Libc.ErrorText(errno)}.");
        }

        var writer = new SafeFileHandle(writerFd, ownsHandle: true);
        return new ExecIo(Open(writer, FileAccess.Write), [new ExecOutput(Open(master, FileAccess.Read), FrameType.Stdout)], master, (slave, slave, slave));
    }

    /// <summary>Closes the child's ends in the agent once the child has them (or the spawn failed).</summary>
    public void CloseChildEnds()
    {
        // Disposing a handle twice is harmless: a terminal's slave is all three.
        childEnds.Stdin.Dispose();
        childEnds.Stdout.Dispose();
        childEnds.Stderr.Dispose();
    }

    public void Dispose()
    {
        CloseChildEnds();
        Stdin.Dispose();
        foreach (var output in Outputs)
        {
            output.Source.Dispose();
        }
    }

    /// <summary>A close-on-exec pipe; the child's ends become its fds 0-2 through dup2, which clears the flag.</summary>
    public static unsafe (SafeFileHandle Read, SafeFileHandle Write) CreatePipe(int flags = 0)
    {
        var fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC | flags) < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot create a pipe: {Libc.ErrorText(Marshal.GetLastPInvokeError())}.");
        }

        return (new SafeFileHandle(fds[0], ownsHandle: true), new SafeFileHandle(fds[1], ownsHandle: true));
    }

    private static FileStream Open(SafeFileHandle handle, FileAccess access) => new(handle, access, bufferSize: 0);
}

/// <summary>One output stream of an exec and the frame type its bytes travel in.</summary>
internal readonly record struct ExecOutput(FileStream Source, FrameType Type);
