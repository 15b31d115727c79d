using VmPs.Protocol.Streams;

namespace VmPs.Tests.Protocol.Streams;

public sealed class DelegatingStreamTests
{
    [Fact]
    public async Task Array_reads_and_writes_go_through_the_overrides_of_spans_and_memory()
    {
        var inner = new MemoryStream();
        using var counting = new CountingStream(inner);

        counting.Write([1, 2, 3], 0, 3);
        await counting.WriteAsync(new byte[] { 4, 5 }, 0, 2);
        inner.Position = 0;
        var buffer = new byte[8];
        var first = counting.Read(buffer, 0, 2);
        var second = await counting.ReadAsync(buffer, 2, 6);

        Assert.Equal((2, 3), (first, second));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, buffer[..5]);
        Assert.Equal((5L, 5L), (counting.BytesWritten, counting.BytesRead));
    }

    [Fact]
    public void Disposing_the_wrapper_disposes_what_it_wraps_and_it_does_not_seek()
    {
        var inner = new MemoryStream([1, 2, 3]);
        var counting = new CountingStream(inner);

        Assert.False(counting.CanSeek);
        Assert.Throws<NotSupportedException>(() => counting.Length);
        Assert.Throws<NotSupportedException>(() => counting.Seek(0, SeekOrigin.Begin));
        counting.Dispose();

        Assert.Throws<ObjectDisposedException>(() => inner.ReadByte());
    }

    /// <summary>Overrides only the span and memory members, as the wrappers in src do.</summary>
    private sealed class CountingStream(Stream inner) : DelegatingStream(inner)
    {
        public long BytesRead { get; private set; }

        public long BytesWritten { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            var read = Inner.Read(buffer);
            BytesRead += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Inner.Write(buffer);
            BytesWritten += buffer.Length;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            BytesWritten += buffer.Length;
            return Inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
