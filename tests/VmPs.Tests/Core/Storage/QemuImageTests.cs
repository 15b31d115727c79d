using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

public sealed class QemuImageTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("qemu-img")]
    public async Task A_qcow2_overlay_reads_its_base_and_reports_it_as_backing_file()
    {
        var basePath = scratch.Combine("base.img");
        await File.WriteAllBytesAsync(basePath, Enumerable.Repeat((byte)7, (int)MiB).ToArray());
        var overlay = scratch.Combine("overlay.qcow2");

        Qcow2Overlay.Create(overlay, MiB, new BackingImage(basePath, DiskImageFormat.Raw));
        var info = await QemuImage.InfoAsync(overlay, DiskImageFormat.Qcow2, CancellationToken.None);

        Assert.Equal(DiskImageFormat.Qcow2, info.Format);
        Assert.Equal(MiB, info.VirtualSizeBytes);
        Assert.Equal(basePath, info.BackingFile);
        Assert.True(info.AllocatedBytes < MiB / 2, $"a fresh overlay holds {info.AllocatedBytes} bytes");

        var flattened = scratch.Combine("flat.img");
        await QemuImage.ConvertAsync(overlay, DiskImageFormat.Qcow2, flattened, DiskImageFormat.Raw, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(basePath), await File.ReadAllBytesAsync(flattened));
    }

    [RequiresProgramFact("qemu-img")]
    public async Task Resize_grows_the_virtual_size()
    {
        var path = scratch.Combine("disk.qcow2");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, "64M"], CancellationToken.None);

        await QemuImage.ResizeAsync(path, DiskImageFormat.Qcow2, 128 * MiB, CancellationToken.None);

        Assert.Equal(128 * MiB, (await QemuImage.InfoAsync(path, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_raw_disk_holding_a_qcow2_header_is_read_as_raw_never_probed()
    {
        // What a guest could write into its raw volume: a qcow2 image whose backing file is a host secret.
        var forged = scratch.Combine("forged.qcow2");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", forged, "1M"], CancellationToken.None);
        var volume = scratch.Combine("volume.img");
        File.Copy(forged, volume);
        await using (var file = File.OpenWrite(volume))
        {
            file.SetLength(MiB);
        }

        var info = await QemuImage.InfoAsync(volume, DiskImageFormat.Raw, CancellationToken.None);

        Assert.Equal(DiskImageFormat.Raw, info.Format);
        Assert.Null(info.BackingFile);
        Assert.Equal(MiB, info.VirtualSizeBytes);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_failure_carries_qemu_imgs_own_message()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => QemuImage.InfoAsync(scratch.Combine("missing.qcow2"), DiskImageFormat.Qcow2, CancellationToken.None));

        Assert.Equal("ExternalToolFailed", error.ErrorId);
        Assert.Contains("missing.qcow2", error.Message);
    }
}
