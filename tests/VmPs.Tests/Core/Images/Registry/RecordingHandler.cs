using System.Collections.Concurrent;
using System.Net;
using VmPs.Protocol.Streams;

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

    private sealed class InterruptingStream(Stream inner, long limit, CancellationTokenSource interrupt) : DelegatingStream(inner)
    {
        private long delivered;

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("The registry client reads asynchronously.");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (delivered >= limit)
            {
                await interrupt.CancelAsync();
                throw new OperationCanceledException(interrupt.Token);
            }

            var read = await Inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, limit - delivered)], cancellationToken);
            delivered += read;
            return read;
        }
    }
}
