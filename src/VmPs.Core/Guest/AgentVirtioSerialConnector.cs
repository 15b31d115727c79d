using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VmPs.Core.Guest;

/// <summary>
/// Connects to the Unix socket QEMU serves for the guest's virtio-serial agent port. That port is one
/// stream shared by everyone, so the connection holds an exclusive flock on "SOCKET.lock" while open:
/// a second pwsh session waits instead of interleaving frames with the first.
/// </summary>
public sealed partial class AgentVirtioSerialConnector : IAgentConnector
{
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
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
            await lockFile.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var file = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            while (flock((int)file.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
            {
                await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
            }

            return file;
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    /// <summary>The socket stream; closing it also releases the lock (closing the lock file drops the flock).</summary>
    private sealed class StreamWithLock : Stream
    {
        private readonly Stream _inner;
        private readonly FileStream _lock;

        public StreamWithLock(Stream inner, FileStream lockFile)
        {
            _inner = inner;
            _lock = lockFile;
        }

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

        public override void Flush() => _inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _lock.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
