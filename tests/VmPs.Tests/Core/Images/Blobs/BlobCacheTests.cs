using System.Security.Cryptography;
using VmPs.Core;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Blobs;

public sealed class BlobCacheTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly BlobCache cache;

    public BlobCacheTests()
    {
        cache = new BlobCache(new VmPsPaths(scratch.Path));
    }

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task Concurrent_adds_of_one_digest_download_once_and_keep_one_file()
    {
        var content = RandomNumberGenerator.GetBytes(64 << 10);
        var descriptor = Describe(content);
        var opens = 0;

        var paths = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => cache.AddAsync(
            descriptor,
            (offset, _) =>
            {
                Interlocked.Increment(ref opens);
                return Task.FromResult<Stream>(new TrickleStream(content.AsMemory((int)offset).ToArray()));
            },
            null,
            CancellationToken.None))));

        Assert.Equal(1, opens);
        Assert.Single(paths.Distinct());
        Assert.Equal(content, await File.ReadAllBytesAsync(paths[0]));
        Assert.Equal([paths[0]], BlobFiles());
    }

    [Fact]
    public async Task Content_that_does_not_hash_to_the_digest_is_discarded()
    {
        var descriptor = Describe("expected"u8.ToArray());

        var error = await Assert.ThrowsAsync<VmPsException>(() => cache.AddAsync(descriptor, Open("tampered"u8.ToArray()), null, CancellationToken.None));

        Assert.Equal(("BlobDigestMismatch", VmPsErrorKind.InvalidData), (error.ErrorId, error.Kind));
        Assert.Contains(descriptor.Digest, error.Message);
        Assert.Empty(BlobFiles());
    }

    [Fact]
    public async Task More_bytes_than_the_declared_size_are_discarded()
    {
        var descriptor = Describe("exact"u8.ToArray());

        var error = await Assert.ThrowsAsync<VmPsException>(() => cache.AddAsync(descriptor, Open("exact and more"u8.ToArray()), null, CancellationToken.None));

        Assert.Equal("BlobDigestMismatch", error.ErrorId);
        Assert.Empty(BlobFiles());
    }

    [Fact]
    public async Task A_short_transfer_is_kept_and_the_next_add_resumes_from_its_length()
    {
        var content = RandomNumberGenerator.GetBytes(10_000);
        var descriptor = Describe(content);
        var offsets = new List<long>();

        var error = await Assert.ThrowsAsync<VmPsException>(() => cache.AddAsync(descriptor, Open(content[..4000]), null, CancellationToken.None));
        var path = await cache.AddAsync(
            descriptor,
            (offset, _) =>
            {
                offsets.Add(offset);
                return Task.FromResult<Stream>(new MemoryStream(content[(int)offset..]));
            },
            null,
            CancellationToken.None);

        Assert.Equal("BlobTruncated", error.ErrorId);
        Assert.Equal([4000L], offsets);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal([path], BlobFiles());
    }

    [Fact]
    public async Task A_cached_blob_is_not_fetched_again()
    {
        var content = "cached"u8.ToArray();
        var descriptor = Describe(content);
        await cache.AddAsync(descriptor, Open(content), null, CancellationToken.None);

        var path = await cache.AddAsync(descriptor, (_, _) => throw new InvalidOperationException("fetched again"), null, CancellationToken.None);

        Assert.True(cache.Contains(descriptor.Digest));
        Assert.Equal(cache.PathFor(descriptor.Digest), path);
    }

    [Theory]
    [InlineData("sha256:../../etc/passwd")]
    [InlineData("sha512:0123")]
    [InlineData("sha256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")]
    public void Digests_that_are_not_sha256_hex_are_refused(string digest)
    {
        var error = Assert.Throws<VmPsException>(() => cache.PathFor(digest));

        Assert.Equal("DigestInvalid", error.ErrorId);
    }

    private static OciDescriptor Describe(byte[] content) => new(OciMediaTypes.Layer, BlobDigest.Compute(content), content.Length);

    private static Func<long, CancellationToken, Task<Stream>> Open(byte[] content) => (offset, _) => Task.FromResult<Stream>(new MemoryStream(content[(int)offset..]));

    private string[] BlobFiles() =>
        Directory.Exists(scratch.Path) ? Directory.GetFiles(scratch.Path, "*", SearchOption.AllDirectories) : [];

    /// <summary>Hands out a little at a time, so concurrent adds overlap with the one downloading.</summary>
    private sealed class TrickleStream(byte[] content) : MemoryStream(content)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(5, cancellationToken);
            return await base.ReadAsync(buffer[..Math.Min(buffer.Length, 2048)], cancellationToken);
        }
    }
}
