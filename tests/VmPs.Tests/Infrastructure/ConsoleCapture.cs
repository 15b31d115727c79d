using System.Text;

namespace VmPs.Tests.Infrastructure;

/// <summary>A write-only stream that keeps what a console session wrote to its terminal, for tests to wait on.</summary>
public sealed class ConsoleCapture : Stream
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly MemoryStream bytes = new();

    public byte[] Bytes
    {
        get
        {
            lock (bytes)
            {
                return bytes.ToArray();
            }
        }
    }

    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>Waits until the captured text shows <paramref name="marker"/>; fails past a generous guard, never on timing.</summary>
    public async Task WaitForAsync(string marker)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (!Text.Contains(marker, StringComparison.Ordinal))
        {
            await Task.Delay(50, guard.Token);
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (bytes)
        {
            bytes.Write(buffer, offset, count);
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
