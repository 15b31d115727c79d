using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Native;
using VmPs.Protocol.Streams;

namespace VmPs.Core.Agent;

/// <summary>
/// Connects to the Unix socket QEMU serves for the guest's virtio-serial agent port. That port is one
/// stream shared by everyone, so the connection holds an exclusive flock on "SOCKET.lock" while open:
/// a second pwsh session waits instead of interleaving frames with the first.
/// </summary>
public sealed class AgentVirtioSerialConnector : IAgentConnector
{
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int OpenReadWrite = 2;
    private const int OpenCreate = 0x40;
    private const int OpenCloseOnExec = 0x80000;
    private static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(10);

    public AgentVirtioSerialConnector(string socketPath)
    {
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public string LockPath => SocketPath + ".lock";

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var lockFile = await LockAsync(cancellationToken).ConfigureAwait(false);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken).ConfigureAwait(false);
            return new StreamWithLock(new NetworkStream(socket, ownsSocket: true), lockFile);
        }
        catch
        {
            socket.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opened with libc rather than FileStream: .NET takes its own flock for FileShare emulation on the
    /// files it opens, which would make a second session's open fail instead of wait.
    /// </summary>
    private async Task<SafeFileHandle> LockAsync(CancellationToken cancellationToken)
    {
        var fd = Libc.open(LockPath, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0x1B6u);
        if (fd < 0)
        {
            throw new IOException($"Cannot open the agent lock file {LockPath}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            while (Libc.flock(fd, LockExclusive | LockNonBlocking) != 0)
            {
                await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The socket stream; closing it also releases the lock (closing the lock fd drops the flock).</summary>
    private sealed class StreamWithLock(Stream inner, SafeFileHandle lockFile) : DelegatingStream(inner)
    {
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                lockFile.Dispose();
            }
        }
    }
}
