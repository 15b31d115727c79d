using System.Diagnostics;

namespace VmPs.IngressBench;

/// <summary>One round of load: <c>requests</c> GETs of one URL by <c>concurrency</c> workers sharing one client.</summary>
internal sealed record HttpLoad(HttpClient Client, Uri Url)
{
    /// <summary>The round's wall time and each request's latency; a status other than 200 or a body other than <paramref name="expected"/> throws.</summary>
    public async Task<(TimeSpan Elapsed, List<TimeSpan> Latencies)> RunAsync(int requests, int concurrency, string expected, CancellationToken cancellationToken)
    {
        var remaining = requests;
        var latencies = new List<TimeSpan>(requests);
        var round = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await Client.GetAsync(Url, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                var latency = Stopwatch.GetElapsedTime(started);
                if (!response.IsSuccessStatusCode || body != expected)
                {
                    throw new InvalidOperationException($"GET {Url} answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}");
                }

                lock (latencies)
                {
                    latencies.Add(latency);
                }
            }
        }));
        return (round.Elapsed, latencies);
    }
}
