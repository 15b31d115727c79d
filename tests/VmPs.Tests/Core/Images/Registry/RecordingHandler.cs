using System.Collections.Concurrent;
using System.Net;

namespace VmPs.Tests.Core.Images.Registry;

/// <summary>One HTTP request the client under test sent, with the response status (null when no response came).</summary>
public sealed record RecordedRequest(HttpMethod Method, Uri Uri, long? RangeFrom, HttpStatusCode? Status)
{
    public bool IsBlobGet => Method == HttpMethod.Get && Uri.AbsolutePath.Contains("/blobs/", StringComparison.Ordinal);
}

/// <summary>
/// Sits between the registry client and the network: records every request, and can cut a blob download
/// short after a number of bytes by cancelling the pull (a user pressing Ctrl+C mid-layer).
/// </summary>
public sealed class RecordingHandler(ConcurrentQueue<RecordedRequest> log, long? interruptBlobAfter = null, CancellationTokenSource? interrupt = null)
    : DelegatingHandler(new SocketsHttpHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var rangeFrom = request.Headers.Range?.Ranges.FirstOrDefault()?.From;
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            log.Enqueue(new RecordedRequest(request.Method, request.RequestUri!, rangeFrom, Status: null));
            throw;
        }

        var recorded = new RecordedRequest(request.Method, request.RequestUri!, rangeFrom, response.StatusCode);
        log.Enqueue(recorded);
        if (recorded.IsBlobGet && interruptBlobAfter is { } limit && response.IsSuccessStatusCode)
        {
            var original = response.Content;
            response.Content = new StreamContent(new InterruptingStream(await original.ReadAsStreamAsync(cancellationToken), limit, interrupt!));
            foreach (var header in original.Headers)
            {
                response.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return response;
    }

    private sealed class InterruptingStream(Stream inner, long limit, CancellationTokenSource interrupt) : Stream
    {
        private long delivered;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (delivered >= limit)
            {
                await interrupt.CancelAsync();
                throw new OperationCanceledException(interrupt.Token);
            }

            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, limit - delivered)], cancellationToken);
            delivered += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
