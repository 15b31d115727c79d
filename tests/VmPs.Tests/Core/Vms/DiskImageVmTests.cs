using System.Text.Json;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// New-Vm from a disk image: the VM's disk is a private qcow2 overlay over the image's stored base (format stated,
/// never probed) of -DiskSizeGB, on q35; what cannot hold or boot the image is refused with nothing left behind.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DiskImageVmTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresOvmfFact]
    public async Task Each_vm_gets_a_private_qcow2_overlay_of_its_disk_size_backed_by_the_stored_base()
    {
        var image = await ImportAsync("cloud", 64 * MiB);
        var manager = VmTestHost.Manager(home.Paths, KernelLocator.FindDefault());

        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "cloud", DiskSizeGiB = 2 }, CancellationToken.None);
        var db = await manager.CreateAsync(
            new VmCreateOptions { Name = "db", Image = "cloud", DiskSizeGiB = 3, UserData = "#cloud-config\nruncmd: [true]\n", SshPublicKeys = [SampleSshKeys.Ed25519] }, CancellationToken.None);

        Assert.Equal(QemuMachine.Q35, vm.MachineType);
        Assert.Equal(HypervisorKind.Qemu, vm.Hypervisor);
        var disk = Path.Combine(vm.Directory, "disk.qcow2");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(disk));
        Assert.False(File.Exists(Path.Combine(vm.Directory, "overlay.ext4")));
        var info = await QemuImgInfoAsync(disk);
        Assert.Equal("qcow2", info.GetProperty("format").GetString());
        Assert.Equal(2L << 30, info.GetProperty("virtual-size").GetInt64());
        Assert.Equal(image.RootfsPath, info.GetProperty("backing-filename").GetString());
        Assert.Equal("raw", info.GetProperty("backing-filename-format").GetString());
        Assert.True(vm.DiskAllocatedBytes > 0);
        Assert.True(vm.DiskAllocatedBytes < MiB, $"the overlay holds only metadata, yet takes {vm.DiskAllocatedBytes} bytes");

        // The user data and keys are kept as given (the seed's MIME multipart is composed at each start); a VM given neither has none.
        Assert.False(File.Exists(Path.Combine(vm.Directory, "user-data.json")));
        var userData = Path.Combine(db.Directory, "user-data.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(userData));
        using (var kept = JsonDocument.Parse(await File.ReadAllTextAsync(userData)))
        {
            Assert.Equal("#cloud-config\nruncmd: [true]\n", kept.RootElement.GetProperty("UserData").GetString());
            Assert.Equal([SampleSshKeys.Ed25519], kept.RootElement.GetProperty("SshPublicKeys").EnumerateArray().Select(key => key.GetString()));
        }

        var grown = await manager.ResizeDiskAsync("web", 5, CancellationToken.None);
        Assert.Equal(5, grown.DiskSizeGiB);
        Assert.Equal(5L << 30, (await QemuImgInfoAsync(disk)).GetProperty("virtual-size").GetInt64());
        Assert.Equal(image.RootfsPath, (await QemuImgInfoAsync(disk)).GetProperty("backing-filename").GetString());
    }

    [RequiresOvmfFact]
    public async Task What_cannot_hold_or_boot_the_image_is_refused_and_leaves_nothing()
    {
        await ImportAsync("big", 1100 * MiB);
        var manager = VmTestHost.Manager(home.Paths, KernelLocator.FindDefault());

        var tooSmall = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "small", Image = "big", DiskSizeGiB = 1 }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.DiskSmallerThanImage, tooSmall.ErrorId);
        Assert.Contains("-DiskSizeGB 2", tooSmall.RecommendedAction, StringComparison.Ordinal);
        foreach (var (options, flag) in new[]
        {
            (new VmCreateOptions { Name = "k", Image = "big", DiskSizeGiB = 2, KernelPath = "/boot/vmlinuz" }, "-Kernel"),
            (new VmCreateOptions { Name = "m", Image = "big", DiskSizeGiB = 2, MachineType = QemuMachine.Microvm }, "-MachineType Microvm"),
            (new VmCreateOptions { Name = "i", Image = "big", DiskSizeGiB = 2, InitMode = ImageInitMode.Exec }, "-InitMode"),
        })
        {
            var refused = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(options, CancellationToken.None));
            Assert.Equal(VmPsErrorIds.DiskImageVmUnsupported, refused.ErrorId);
            Assert.Contains(flag, refused.Message, StringComparison.Ordinal);
        }

        // cloud-init runs a disk image VM's user data, so it must be a kind cloud-init knows; other VMs' is only served.
        var notCloudInit = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "plain", Image = "big", DiskSizeGiB = 2, UserData = "role=web\n" }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.UserDataInvalid, notCloudInit.ErrorId);
        var ociTooLarge = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "oci", Image = "busybox", UserData = new string('x', 16385) }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.UserDataTooLarge, ociTooLarge.ErrorId);
        var tooLarge = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "ud", Image = "big", DiskSizeGiB = 2, UserData = "#!/bin/sh\n" + new string('#', 16384) }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.UserDataTooLarge, tooLarge.ErrorId);

        var noFirmware = new VmManager(home.Paths, new VmManagerSettings
        {
            ProbeHost = (_, _) => Task.FromResult(VmTestHost.QemuHost(KernelLocator.FindDefault()) with
            {
                Firmware = FirmwareCatalog.Find(new FirmwareSearch { OvmfDirectory = scratch.Path, SeaBiosDirectory = scratch.Path }),
            }),
        });
        var missing = await Assert.ThrowsAsync<VmPsException>(() => noFirmware.CreateAsync(
            new VmCreateOptions { Name = "fw", Image = "big", DiskSizeGiB = 2 }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.FirmwareNotFound, missing.ErrorId);
        Assert.Contains("ovmf", missing.RecommendedAction, StringComparison.Ordinal);

        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
        Assert.False(Directory.Exists(home.Paths.VmsDirectory) && Directory.EnumerateFileSystemEntries(home.Paths.VmsDirectory).Any());
    }

    private Task<ImageInfo> ImportAsync(string name, long size) => TestDiskImages.ImportBlankAsync(home.Paths, scratch.Path, name, size);

    private static async Task<JsonElement> QemuImgInfoAsync(string path)
    {
        var result = await ExternalTool.RunCheckedAsync("qemu-img", ["info", "--output=json", "-U", "-f", "qcow2", path], CancellationToken.None);
        return JsonDocument.Parse(result.StandardOutput).RootElement.Clone();
    }
}
