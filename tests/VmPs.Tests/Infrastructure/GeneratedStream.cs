namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A read-only stream of <paramref name="length"/> bytes made as they are read, never held in memory: how a test hands
/// a reader gigabytes of input. Subclasses say what the bytes are; <see cref="Served"/> counts how much was taken.
/// </summary>
public abstract class GeneratedStream(long length) : Stream
{
    private long position;

    public long Served => position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var take = (int)Math.Min(buffer.Length, length - position);
        Generate(buffer[..take], position);
        position += take;
        return take;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Fills <paramref name="buffer"/> with the bytes at <paramref name="offset"/> of the stream.</summary>
    protected abstract void Generate(Span<byte> buffer, long offset);
}
