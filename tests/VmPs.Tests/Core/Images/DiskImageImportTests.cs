using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// New-VmImage -Path for disk images, with files qemu-img made: stored once, private, described by Get-VmImage;
/// hostile and broken files refused with their own error ids and nothing left in the store.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DiskImageImportTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_image_is_stored_private_and_listed_as_a_uefi_disk()
    {
        var source = await Qcow2WithDataAsync("cloud.qcow2");

        var image = await Images().AddDiskAsync(new DiskImageAddOptions { Path = source, Name = "debian-cloud" }, null, CancellationToken.None);

        var listed = Assert.Single(await Images().GetAllAsync(CancellationToken.None));
        Assert.Equal(image.Id, listed.Id);
        Assert.Equal(ImageKind.Disk, listed.Kind);
        Assert.Equal(ImageFormat.Qcow2, listed.Format);
        Assert.Equal(ImageFirmware.Uefi, listed.Firmware);
        Assert.Equal(8 * MiB, listed.VirtualSizeBytes);
        Assert.Equal(source, listed.Reference);
        Assert.StartsWith("sha256:", listed.Digest, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(listed.RootfsPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(listed.RootfsPath));
        Assert.Equal(home.Paths.ImagesDirectory, Path.GetDirectoryName(Path.GetDirectoryName(listed.RootfsPath)));
        var stored = await QemuImage.InfoAsync(listed.RootfsPath, DiskImageFormat.Qcow2, CancellationToken.None);
        Assert.Null(stored.BackingFile);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_raw_disk_keeps_its_format_and_the_firmware_asked_for()
    {
        var source = RawDisk("disk.img", 4 * MiB);

        var image = await Images().AddDiskAsync(
            new DiskImageAddOptions { Path = source, Name = "legacy", Firmware = ImageFirmware.Bios }, null, CancellationToken.None);

        var found = await Images().GetAsync("legacy", CancellationToken.None);
        Assert.Equal(image.Id, found.Id);
        Assert.Equal(ImageFormat.Raw, found.Format);
        Assert.Equal(ImageFirmware.Bios, found.Firmware);
        Assert.Equal(4 * MiB, found.VirtualSizeBytes);
        Assert.EndsWith("disk.raw", found.RootfsPath, StringComparison.Ordinal);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task The_same_file_again_is_a_no_op_another_needs_force_which_replaces_it()
    {
        var first = RawDisk("a.img", 2 * MiB);
        var second = RawDisk("b.img", 3 * MiB);
        var original = await Images().AddDiskAsync(new DiskImageAddOptions { Path = first, Name = "base" }, null, CancellationToken.None);

        var again = await Images().AddDiskAsync(new DiskImageAddOptions { Path = first, Name = "BASE" }, null, CancellationToken.None);
        var taken = await Assert.ThrowsAsync<VmPsException>(
            () => Images().AddDiskAsync(new DiskImageAddOptions { Path = second, Name = "base" }, null, CancellationToken.None));
        var replaced = await Images().AddDiskAsync(new DiskImageAddOptions { Path = second, Name = "base", Force = true }, null, CancellationToken.None);

        Assert.Equal(original.Id, again.Id);
        Assert.Equal(VmPsErrorIds.ImageNameInUse, taken.ErrorId);
        Assert.Equal(3 * MiB, (await Images().GetAsync("base", CancellationToken.None)).VirtualSizeBytes);
        Assert.NotEqual(original.Id, replaced.Id);
        Assert.False(File.Exists(original.RootfsPath));
        AssertOnlyImageDirectories(replaced.Id);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_whose_backing_file_is_a_host_secret_is_refused()
    {
        var hostile = scratch.Combine("hostile.qcow2");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", hostile, "8M"], CancellationToken.None);

        var error = await AddFailingAsync(hostile);

        Assert.Equal(VmPsErrorIds.BackingFileRefused, error.ErrorId);
        Assert.Equal(VmPsErrorKind.PermissionDenied, error.Kind);
        Assert.Equal(hostile, error.Target);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_with_an_external_data_file_is_refused_before_qemu_img_opens_it()
    {
        var hostile = scratch.Combine("data.qcow2");
        var dataFile = scratch.Combine("data.bin");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", $"data_file={dataFile}", hostile, "8M"], CancellationToken.None);

        // A FIFO in the data file's place: qemu-img opening it would block until the deadline below.
        File.Delete(dataFile);
        await ExternalTool.RunCheckedAsync("mkfifo", [dataFile], CancellationToken.None);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var error = await AddFailingAsync(hostile, deadline.Token);

        Assert.Equal(VmPsErrorIds.BackingFileRefused, error.ErrorId);
        Assert.Contains("external data file", error.Message, StringComparison.Ordinal);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_with_damaged_refcounts_is_corrupt()
    {
        var corrupt = await Qcow2WithDataAsync("corrupt.qcow2");
        await using (var file = File.Open(corrupt, FileMode.Open, FileAccess.ReadWrite))
        {
            // Zero the first refcount block: every allocated cluster then has refcount 0 but is referenced.
            var header = new byte[64];
            await file.ReadExactlyAsync(header);
            file.Position = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(48));
            var entry = new byte[8];
            await file.ReadExactlyAsync(entry);
            file.Position = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(entry);
            await file.WriteAsync(new byte[64 * 1024]);
        }

        var error = await AddFailingAsync(corrupt);

        Assert.Equal(VmPsErrorIds.DiskImageCorrupt, error.ErrorId);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_claiming_a_disk_beyond_the_largest_vm_disk_is_too_large()
    {
        var huge = scratch.Combine("huge.qcow2");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", huge, "9T"], CancellationToken.None);

        var error = await AddFailingAsync(huge);

        Assert.Equal(VmPsErrorIds.DiskImageTooLarge, error.ErrorId);
        Assert.Equal(VmPsErrorKind.LimitsExceeded, error.Kind);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_file_that_is_no_disk_image_and_a_cut_short_qcow2_header_are_invalid()
    {
        var text = scratch.Combine("notes.img");
        await File.WriteAllTextAsync(text, string.Concat(Enumerable.Repeat("not a disk\n", 100)));
        var qcow2 = await Qcow2WithDataAsync("whole.qcow2");
        var cut = scratch.Combine("cut.qcow2");
        await File.WriteAllBytesAsync(cut, (await File.ReadAllBytesAsync(qcow2))[..40]);

        Assert.Equal(VmPsErrorIds.DiskImageInvalid, (await AddFailingAsync(text)).ErrorId);
        Assert.Equal(VmPsErrorIds.DiskImageInvalid, (await AddFailingAsync(cut)).ErrorId);
    }

    [Fact]
    public async Task A_missing_file_is_not_found()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => Images().AddDiskAsync(
            new DiskImageAddOptions { Path = scratch.Combine("absent.qcow2"), Name = "absent" }, null, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.ImageSourceNotFound, error.ErrorId);
    }

    private ImageManager Images() => new(home.Paths);

    /// <summary>Adds <paramref name="path"/>, expecting a failure that leaves no row and no file in the store.</summary>
    private async Task<VmPsException> AddFailingAsync(string path, CancellationToken cancellationToken = default)
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => Images().AddDiskAsync(
            new DiskImageAddOptions { Path = path, Name = "rejected" }, null, cancellationToken));
        Assert.Empty(await Images().GetAllAsync(CancellationToken.None));
        AssertOnlyImageDirectories();
        return error;
    }

    private void AssertOnlyImageDirectories(params string[] ids) =>
        Assert.Equal(
            ids.Order(StringComparer.Ordinal),
            Directory.EnumerateFileSystemEntries(home.Paths.ImagesDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));

    /// <summary>A raw disk with a boot signature (as every MBR or GPT disk has) and some data.</summary>
    private string RawDisk(string name, long size)
    {
        var path = scratch.Combine(name);
        var bytes = new byte[size];
        bytes[510] = 0x55;
        bytes[511] = 0xAA;
        bytes.AsSpan((int)MiB, 4096).Fill((byte)size);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<string> Qcow2WithDataAsync(string name)
    {
        var path = scratch.Combine(name);
        await QemuImage.ConvertAsync(RawDisk(name + ".raw", 8 * MiB), DiskImageFormat.Raw, path, DiskImageFormat.Qcow2, CancellationToken.None);
        return path;
    }
}
