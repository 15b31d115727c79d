using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileCopyTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task A_full_copy_keeps_content_length_and_holes_and_is_private()
    {
        var source = scratch.Combine("source.img");
        await using (var file = File.Create(source))
        {
            file.SetLength(64L * MiB);
            file.Seek(10L * MiB, SeekOrigin.Begin);
            await file.WriteAsync(Enumerable.Range(0, MiB).Select(i => (byte)(i % 251 + 1)).ToArray());
        }

        var destination = scratch.Combine("copy.img");
        await FileCopy.SparseCopyAsync(source, destination, CancellationToken.None);

        Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(destination));
        Assert.True(AllocatedBytes(destination) < 4L * MiB, $"{AllocatedBytes(destination)} bytes allocated for 1 MiB of data");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(destination));
    }

    [Fact]
    public async Task A_full_copy_reads_only_the_data_of_a_file_that_is_mostly_holes()
    {
        // 1 TiB of holes would take minutes to read: a copy that finishes within the limit read the data extents only.
        var source = scratch.Combine("ram.img");
        var pattern = Enumerable.Range(0, 3 * MiB).Select(i => (byte)(i % 253 + 1)).ToArray();
        Array.Clear(pattern, MiB, 128 * 1024);
        await using (var file = File.Create(source))
        {
            file.SetLength(1L << 40);
            file.Position = (5L << 30) + 12345;
            await file.WriteAsync(pattern);
            file.Position = (700L << 30) + 4096;
            await file.WriteAsync(pattern.AsMemory(0, 4096));
        }

        var destination = scratch.Combine("copy.img");
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await FileCopy.SparseCopyAsync(source, destination, limit.Token);

        Assert.Equal(1L << 40, new FileInfo(destination).Length);
        Assert.Equal(await DigestAsync(source), await DigestAsync(destination));
        Assert.Equal(pattern, await ReadAsync(destination, (5L << 30) + 12345, pattern.Length));
        Assert.Equal(pattern[..4096], await ReadAsync(destination, (700L << 30) + 4096, 4096));
        // The zero blocks inside the data are holes in the copy, as the holes around it are.
        Assert.True(AllocatedBytes(destination) < AllocatedBytes(source), $"the copy allocated {AllocatedBytes(destination)} bytes, the source {AllocatedBytes(source)}");
        Assert.True(AllocatedBytes(destination) <= 4L * MiB, $"{AllocatedBytes(destination)} bytes allocated for 3 MiB of data");
    }

    [Fact]
    public async Task Copy_says_how_it_copied_and_never_replaces_an_existing_file()
    {
        var source = scratch.Combine("source.img");
        await File.WriteAllTextAsync(source, "data");
        var destination = scratch.Combine("copy.img");

        var method = await FileCopy.CopyAsync(source, destination, CancellationToken.None);

        Assert.Equal(FileSystemCanReflink(scratch.Path) ? CopyMethod.Reflink : CopyMethod.FullCopy, method);
        Assert.Equal("data", await File.ReadAllTextAsync(destination));
        var refused = await Assert.ThrowsAsync<FileOperationException>(() => FileCopy.CopyAsync(source, destination, CancellationToken.None));
        Assert.Equal(FileErrorCodes.Exists, refused.Code);
        Assert.Equal("data", await File.ReadAllTextAsync(destination));
        var sparseRefused = await Assert.ThrowsAsync<FileOperationException>(() => FileCopy.SparseCopyAsync(source, destination, CancellationToken.None));
        Assert.Equal(FileErrorCodes.Exists, sparseRefused.Code);
        Assert.Equal("data", await File.ReadAllTextAsync(destination));
    }

    [RequiresRootAndProgramsFact("mkfs.xfs", "losetup", "mount", "umount")]
    public async Task On_xfs_a_copy_is_a_reflink_that_allocates_nothing()
    {
        var image = scratch.Combine("xfs.img");
        await using (var file = File.Create(image))
        {
            file.SetLength(512L * MiB);
        }

        await ExternalTool.RunCheckedAsync("mkfs.xfs", ["-q", "-m", "reflink=1", image], CancellationToken.None);
        var mountPoint = Directory.CreateDirectory(scratch.Combine("mnt")).FullName;
        await ExternalTool.RunCheckedAsync("mount", ["-o", "loop", image, mountPoint], CancellationToken.None);
        try
        {
            var source = Path.Combine(mountPoint, "source.img");
            await File.WriteAllBytesAsync(source, Enumerable.Repeat((byte)9, 32 * MiB).ToArray());
            var before = await FreeBytesAsync(mountPoint);

            var method = await FileCopy.CopyAsync(source, Path.Combine(mountPoint, "copy.img"), CancellationToken.None);

            Assert.Equal(CopyMethod.Reflink, method);
            Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(Path.Combine(mountPoint, "copy.img")));
            var used = before - await FreeBytesAsync(mountPoint);
            Assert.True(used < 4L * MiB, $"the reflink used {used} bytes of the file system");
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", [mountPoint], CancellationToken.None);
        }
    }

    private static async Task<long> FreeBytesAsync(string mountPoint)
    {
        await ExternalTool.RunCheckedAsync("sync", [], CancellationToken.None);
        var output = (await ExternalTool.RunCheckedAsync("df", ["--output=avail", "-B1", mountPoint], CancellationToken.None)).StandardOutput;
        return long.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool FileSystemCanReflink(string directory)
    {
        var probe = Path.Combine(directory, "probe");
        File.WriteAllText(probe, "x");
        try
        {
            return FileCopy.TryReflink(probe, probe + ".clone");
        }
        finally
        {
            File.Delete(probe);
            File.Delete(probe + ".clone");
        }
    }

    private static async Task<string> DigestAsync(string path)
    {
        using var file = File.OpenHandle(path);
        return await SparseFileDigest.ComputeAsync(file, CancellationToken.None);
    }

    private static async Task<byte[]> ReadAsync(string path, long offset, int count)
    {
        using var file = File.OpenHandle(path);
        var buffer = new byte[count];
        Assert.Equal(count, await RandomAccess.ReadAsync(file, buffer, offset));
        return buffer;
    }

    private static long AllocatedBytes(string path) =>
        long.Parse(ExternalTool.RunCheckedAsync("stat", ["-c", "%b", path], CancellationToken.None).GetAwaiter().GetResult().StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
}
