using System.Security.Cryptography;
using VmPs.Core.Storage;

namespace VmPs.Tests.Core.Storage;

/// <summary>The saved-state digest: it follows the content, whatever the file's holes, and catches any changed byte.</summary>
public sealed class SparseFileDigestTests : IDisposable
{
    private const int MiB = 1 << 20;

    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("vmps-digest-");

    public void Dispose() => directory.Delete(recursive: true);

    [Fact]
    public async Task The_same_bytes_give_one_digest_with_holes_or_written_zeros_and_any_changed_byte_another()
    {
        var data = RandomNumberGenerator.GetBytes(10_000);
        var sparse = Write("sparse", length: 64 * MiB, (5 * MiB, data), (40 * MiB + 123, data));
        var dense = Path.Combine(directory.FullName, "dense");
        var bytes = new byte[64 * MiB];
        data.CopyTo(bytes, 5 * MiB);
        data.CopyTo(bytes, 40 * MiB + 123);
        await File.WriteAllBytesAsync(dense, bytes);
        var moved = Write("moved", length: 64 * MiB, (5 * MiB, data), (40 * MiB + 124, data));
        var inHole = Write("in-hole", length: 64 * MiB, (5 * MiB, data), (40 * MiB + 123, data), (60 * MiB, [1]));
        var flipped = (byte[])data.Clone();
        flipped[9_999] ^= 0x80;
        var changed = Write("changed", length: 64 * MiB, (5 * MiB, data), (40 * MiB + 123, flipped));

        var digest = await DigestAsync(sparse);

        Assert.True(new FileInfo(sparse).Length > UnixFileType.AllocatedBytes(sparse) * 100, "the test file is sparse");
        Assert.Equal(digest, await DigestAsync(dense));
        Assert.NotEqual(digest, await DigestAsync(moved));
        Assert.NotEqual(digest, await DigestAsync(inHole));
        Assert.NotEqual(digest, await DigestAsync(changed));
        Assert.Matches("^[0-9a-f]{64}$", digest);
    }

    [Fact]
    public async Task An_empty_file_and_one_of_only_holes_have_the_digest_of_nothing()
    {
        var empty = SHA256.HashData([]);

        Assert.Equal(Convert.ToHexString(empty).ToLowerInvariant(), await DigestAsync(Write("empty", length: 0)));
        Assert.Equal(Convert.ToHexString(empty).ToLowerInvariant(), await DigestAsync(Write("holes", length: 8 * MiB)));
    }

    private string Write(string name, long length, params (long Offset, byte[] Bytes)[] extents)
    {
        var path = Path.Combine(directory.FullName, name);
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        RandomAccess.SetLength(file, length);
        foreach (var (offset, bytes) in extents)
        {
            RandomAccess.Write(file, bytes, offset);
        }

        return path;
    }

    private static async Task<string> DigestAsync(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return await SparseFileDigest.ComputeAsync(file, CancellationToken.None);
    }
}
