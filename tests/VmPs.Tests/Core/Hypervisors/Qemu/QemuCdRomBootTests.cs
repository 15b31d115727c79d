using System.Security.Cryptography;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

/// <summary>
/// A bootable ISO (grub-mkrescue) in q35's CD-ROM drive, booted by real QEMU (TCG) through OVMF ahead of a blank
/// sparse disk: GRUB from the CD prints its marker on the serial console and powers off; the ISO is left as it was.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class QemuCdRomBootTests : IDisposable
{
    // A bound for a slow, shared machine, not a speed assertion (the boot takes about 7 s).
    private static readonly TimeSpan BootBound = TimeSpan.FromMinutes(4);

    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        foreach (var pid in HostProcesses.Mentioning(scratch.Path))
        {
            ProcessProbe.KillAsync(new ProcessIdentity(pid, 0), TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }

        scratch.Dispose();
    }

    [RequiresGrubIsoFact]
    public async Task Ovmf_boots_the_iso_in_the_cd_rom_drive_before_the_blank_disk_and_never_writes_it()
    {
        const string marker = "VMPS-ISO-BOOTED";
        var iso = await TestIsoImages.BuildAsync(scratch.Path, marker);
        var isoHash = SHA256.HashData(await File.ReadAllBytesAsync(iso));
        var vmDirectory = scratch.Combine("inst");
        Directory.CreateDirectory(vmDirectory);
        var disk = Path.Combine(vmDirectory, "disk.raw");
        await using (var blank = File.Create(disk))
        {
            blank.SetLength(1L << 30);
        }

        var variables = Path.Combine(vmDirectory, "efivars.fd");
        File.Copy(RequiresOvmfFactAttribute.OvmfVariables, variables);
        var spec = new VmLaunchSpec
        {
            VmName = "inst",
            VmDirectory = vmDirectory,
            Firmware = new FirmwareSpec(ImageFirmware.Uefi, RequiresOvmfFactAttribute.OvmfCode, variables),
            Cpus = 1,
            MemoryMiB = 256,
            Disks =
            [
                new DiskSpec(disk, ReadOnly: false, "vmps-disk"),
                new DiskSpec(iso, ReadOnly: true, "vmps-iso", CdRom: true),
            ],
            ConsoleLogPath = Path.Combine(vmDirectory, "console.log"),
            HypervisorLogPath = Path.Combine(vmDirectory, "qemu.log"),
            VsockCid = 3,
        };
        var qemu = DetachedProcess.FindOnPath("qemu-system-x86_64") ?? "qemu-system-x86_64";
        var driver = new QemuDriver(new QemuDriverOptions(qemu, Accelerator.Tcg, QemuMachine.Q35));

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);

        Assert.True(await ProcessProbe.WaitForExitAsync(instance.Process, BootBound, CancellationToken.None), "GRUB from the ISO did not power the VM off");
        await driver.KillAsync(instance, CancellationToken.None);
        Assert.Contains(marker, await File.ReadAllTextAsync(spec.ConsoleLogPath));
        Assert.Equal(isoHash, SHA256.HashData(await File.ReadAllBytesAsync(iso)));
    }
}
