using System.Net.Sockets;
using VmPs.Core.State;
using VmPs.Protocol.Streams;

namespace VmPs.Core.Agent;

/// <summary>
/// Connects to the Unix socket QEMU serves for the guest's virtio-serial agent port. That port is one
/// stream shared by everyone, so the connection holds an exclusive flock on "SOCKET.lock" while open:
/// a second pwsh session waits (up to <see cref="LockTimeout"/>) instead of interleaving frames with the first.
/// </summary>
public sealed class AgentVirtioSerialConnector : IAgentConnector
{
    /// <summary>How long a connection waits for another session's to close, unless the caller gives its own timeout.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    public AgentVirtioSerialConnector(string socketPath, TimeSpan? lockTimeout = null)
    {
        SocketPath = socketPath;
        LockTimeout = lockTimeout ?? DefaultLockTimeout;
    }

    public string SocketPath { get; }

    public string LockPath => SocketPath + ".lock";

    /// <summary>Past it, the connection fails with LockTimeout naming the process that holds the port.</summary>
    public TimeSpan LockTimeout { get; }

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var lockFile = await FileLock.AcquireAsync(LockPath, LockTimeout, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The socket stream; closing it also releases the lock (closing the lock fd drops the flock).</summary>
    private sealed class StreamWithLock(Stream inner, FileLock lockFile) : DelegatingStream(inner)
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
