using VmPs.Core.Images.Blobs;

namespace VmPs.Core.Images.Oci;

/// <summary>
/// Brings the config and layer blobs of one manifest into the cache, whatever the source: blobs already cached are
/// not fetched again, layers are fetched a few at a time, and progress is summed over all of them.
/// </summary>
internal static class ImageBlobFetcher
{
    private const int ParallelDownloads = 3;

    public static async Task<FetchedImage> FetchAsync(
        string sourceReference,
        string manifestDigest,
        OciManifest manifest,
        OciPlatform? selectedPlatform,
        Func<OciDescriptor, long, CancellationToken, Task<Stream>> open,
        BlobCache cache,
        IProgress<ImagePullProgress>? progress,
        CancellationToken cancellationToken)
    {
        var layers = manifest.Layers;
        if (manifest.Config.Size > OciLimits.MaxDocumentBytes)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestInvalid,
                VmPsErrorKind.LimitsExceeded,
                $"{sourceReference}: the image config is {manifest.Config.Size} bytes; at most {OciLimits.MaxDocumentBytes} are read.",
                sourceReference);
        }

        var tracker = new Tracker(progress, manifest.Config.Size + layers.Sum(layer => layer.Size), layers.Count);
        await cache.AddAsync(manifest.Config, (offset, token) => open(manifest.Config, offset, token), tracker.ForBlob(), cancellationToken).ConfigureAwait(false);

        await Parallel.ForEachAsync(
            layers.DistinctBy(layer => layer.Digest),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
            async (layer, token) =>
            {
                var bytes = tracker.ForBlob();
                await cache.AddAsync(layer, (offset, innerToken) => open(layer, offset, innerToken), bytes, token).ConfigureAwait(false);
                tracker.LayerDone(layers.Count(other => other.Digest == layer.Digest));
            }).ConfigureAwait(false);

        var config = OciImageConfig.Parse(await File.ReadAllBytesAsync(cache.PathFor(manifest.Config.Digest), cancellationToken).ConfigureAwait(false));
        if (config.DiffIds.Count > 0 && config.DiffIds.Count != layers.Count)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestInvalid,
                VmPsErrorKind.InvalidData,
                $"{sourceReference}: the manifest lists {layers.Count} layers but the image config {config.DiffIds.Count}.",
                sourceReference);
        }

        var platform = selectedPlatform ?? config.Platform ?? OciPlatform.Default;
        return new FetchedImage(sourceReference, manifestDigest, manifest.Config, layers, platform);
    }

    /// <summary>Sums the per-blob byte counts the cache reports into one pull progress.</summary>
    private sealed class Tracker(IProgress<ImagePullProgress>? progress, long bytesTotal, int layersTotal)
    {
        private long bytesDone;
        private int layersDone;

        public IProgress<long>? ForBlob() => progress is null ? null : new BlobProgress(this);

        public void LayerDone(int count)
        {
            Interlocked.Add(ref layersDone, count);
            Report();
        }

        private void Add(long delta)
        {
            Interlocked.Add(ref bytesDone, delta);
            Report();
        }

        private void Report() =>
            progress?.Report(new ImagePullProgress("download", Interlocked.Read(ref bytesDone), bytesTotal, Volatile.Read(ref layersDone), layersTotal));

        /// <summary>Turns one blob's running total into deltas (a resumed blob starts at its partial length).</summary>
        private sealed class BlobProgress(Tracker tracker) : IProgress<long>
        {
            private long last;

            public void Report(long value)
            {
                var delta = value - last;
                last = value;
                tracker.Add(delta);
            }
        }
    }
}
