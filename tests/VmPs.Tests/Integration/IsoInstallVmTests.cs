using System.Security.Cryptography;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// An ISO install (New-Vm -IsoPath) booted by real QEMU (TCG) through OVMF: GRUB from a grub-mkrescue ISO runs from the
/// CD-ROM drive and sees the blank disk of the requested size; while it waits for a line on the serial console the
/// VM's disk cannot become an image; the line typed through the console session lets it power off, which records the
/// VM Stopped (no VmPs init says so: QEMU's SHUTDOWN event does), and the stopped VM's disk becomes an image
/// (New-VmImage -FromVm). The ISO is never written. A guest that resets boots again inside the same QEMU, the VM
/// Running throughout; a QEMU killed outright leaves it Crashed. Once Set-Vm -IsoPath $null has emptied the drive, the
/// VM boots its disk.
/// </summary>
[Collection(VmBootCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IsoInstallVmTests : IDisposable
{
    private const string Marker = "VMPS-INSTALLER";
    private const string Waiting = "VMPS-WAITING-FOR-A-LINE";

    // Bounds for a slow, shared machine, not speed assertions (GRUB prints its marker about 10 s after the start).
    private static readonly TimeSpan BootBound = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan PowerOffBound = TimeSpan.FromMinutes(2);

    private readonly ScratchVmManager host = new();

    public void Dispose() => host.Dispose();

    [RequiresGrubIsoFact]
    public async Task The_iso_boots_ahead_of_a_blank_disk_of_its_size_and_the_stopped_vms_disk_becomes_an_image()
    {
        // GRUB lists its devices with their sizes, then waits for a line on its terminal, the serial console.
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, Marker, "ls -l", $"echo {Waiting}", "read answer");
        var isoHash = SHA256.HashData(await File.ReadAllBytesAsync(iso));

        var vm = await host.Manager.CreateAsync(new VmCreateOptions { Name = "inst", Image = "", IsoPath = iso, DiskSizeGiB = 20, MemoryMiB = 256 }, CancellationToken.None);

        Assert.Equal("blank-uefi", vm.Image);
        Assert.Equal(iso, vm.IsoPath);
        var blank = await new ImageManager(host.Home.Paths).GetAsync("blank-uefi", CancellationToken.None);
        Assert.Equal((ImageKind.Disk, ImageFirmware.Uefi, "builtin:blank-uefi", 1L << 20), (blank.Kind, blank.Firmware, blank.Reference, blank.VirtualSizeBytes));

        var started = await host.Manager.StartAsync("inst", new VmStartOptions(), null, CancellationToken.None);

        // No agent to wait for: Start-Vm returns at once and says how to reach the installer.
        Assert.Equal(VmState.Running, started.State);
        Assert.Contains("Enter-Vm -Console", started.StatusDetail, StringComparison.Ordinal);
        var console = await ConsoleLogs.WaitForAsync(Path.Combine(vm.Directory, "console.log"), Waiting, BootBound);
        Assert.Contains(Marker, console, StringComparison.Ordinal);
        // The blank disk, 20 GiB as asked, and the ISO in its CD-ROM drive, as GRUB's ls -l describes them.
        Assert.Matches(@"Device hd\d+: No known filesystem detected - Sector size 512B - Total size\s+20971520KiB", console);
        Assert.Matches(@"Device cd0: Filesystem type iso9660", console);

        var whileRunning = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateImageFromVmAsync("inst", "template", false, null, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.ImageFromVmNeedsStoppedVm, whileRunning.ErrorId);
        Assert.Equal("inst", whileRunning.Target);

        // Attached until the VM ends: bytes still unread by the guest's UART are dropped when a session detaches.
        await using (var session = await host.Manager.AttachConsoleAsync("inst", CancellationToken.None))
        {
            var ended = session.RunAsync(new ConsoleCapture(), CancellationToken.None).WaitAsync(PowerOffBound);
            while (!ended.IsCompleted)
            {
                // Until the guest powers off: GRUB can miss a line that arrives while it still prints its prompt.
                await session.SendAsync("\r"u8.ToArray(), CancellationToken.None);
                await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(5)));
            }

            Assert.Equal(SerialConsoleEnd.ConsoleClosed, await ended);
        }

        await WaitUntilOffAsync("inst");
        // Read by a manager of its own, as a later session would: the record is on disk, not in this one.
        var off = await VmTestHost.Manager(host.Home.Paths).GetAsync("inst", CancellationToken.None);
        Assert.True(off.State == VmState.Stopped, $"{off.State}: {off.StatusDetail}");
        var template = await host.Manager.CreateImageFromVmAsync("inst", "template", false, null, CancellationToken.None);

        Assert.Equal((ImageKind.Disk, ImageFirmware.Uefi, 20L << 30, "vm:inst"), (template.Kind, template.Firmware, template.VirtualSizeBytes, template.Reference));
        Assert.Equal(isoHash, SHA256.HashData(await File.ReadAllBytesAsync(iso)));
        Assert.Equal(["blank-uefi", "template"], (await new ImageManager(host.Home.Paths).GetAllAsync(CancellationToken.None)).Select(image => image.Name));
    }

    [RequiresGrubIsoFact]
    public async Task A_guest_that_resets_boots_again_in_place_and_a_killed_qemu_leaves_the_vm_crashed()
    {
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, Marker, $"echo {Waiting}", "read answer", "reboot");
        var vm = await host.Manager.CreateAsync(new VmCreateOptions { Name = "inst", Image = "", IsoPath = iso, DiskSizeGiB = 1, MemoryMiB = 256 }, CancellationToken.None);
        var consoleLog = Path.Combine(vm.Directory, "console.log");

        await host.Manager.StartAsync("inst", new VmStartOptions(), null, CancellationToken.None);
        await ConsoleLogs.WaitForAsync(consoleLog, Waiting, BootBound);
        var qemu = PidFile.Read(Path.Combine(vm.Directory, "hypervisor.pid"))!.Value;

        // The line lets GRUB reboot: the firmware resets the machine inside the same QEMU, and GRUB boots from the ISO again.
        await using (var session = await host.Manager.AttachConsoleAsync("inst", CancellationToken.None))
        {
            var attached = session.RunAsync(new ConsoleCapture(), CancellationToken.None);
            var rebooted = ConsoleLogs.WaitForAsync(consoleLog, Waiting, BootBound, times: 2);
            for (var second = 0; !rebooted.IsCompleted; second++)
            {
                // Until the guest resets: GRUB can miss a line that arrives while it still prints its prompt.
                if (second % 5 == 0 && ConsoleLogs.Count(await File.ReadAllTextAsync(consoleLog), Waiting) < 2)
                {
                    await session.SendAsync("\r"u8.ToArray(), CancellationToken.None);
                }

                var running = await VmTestHost.Manager(host.Home.Paths).GetAsync("inst", CancellationToken.None);
                Assert.True(running.State == VmState.Running, $"{running.State}: {running.StatusDetail}");
                Assert.True(ProcessProbe.IsRunning(qemu), "QEMU exited on the guest's reset.");
                await Task.WhenAny(rebooted, Task.Delay(TimeSpan.FromSeconds(1)));
            }

            // Printed again by GRUB's configuration: the firmware booted the ISO a second time in the same QEMU.
            await rebooted;
            Assert.False(attached.IsCompleted);
        }

        Assert.Equal(VmState.Running, (await VmTestHost.Manager(host.Home.Paths).GetAsync("inst", CancellationToken.None)).State);

        await ProcessProbe.KillAsync(qemu, PowerOffBound, CancellationToken.None);
        await WaitUntilOffAsync("inst");
        var killed = await VmTestHost.Manager(host.Home.Paths).GetAsync("inst", CancellationToken.None);

        Assert.Equal(VmState.Crashed, killed.State);
        Assert.DoesNotContain("QEMU recorded", killed.StatusDetail, StringComparison.Ordinal);
    }

    [RequiresGrubIsoFact]
    public async Task Once_set_vm_ejects_the_iso_the_vm_boots_its_disk()
    {
        const string fromDiskMarker = "VMPS-BOOTED-FROM-DISK";
        // The disk: a grub-mkrescue image, which is also a bootable hard disk (its MBR lists the EFI system partition).
        var diskTree = Directory.CreateDirectory(host.Scratch.Combine("disk")).FullName;
        var disk = await TestIsoImages.BuildAsync(diskTree, fromDiskMarker);
        await new ImageManager(host.Home.Paths).AddDiskAsync(new DiskImageAddOptions { Path = disk, Name = "installed" }, null, CancellationToken.None);
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, Marker);
        var vm = await host.Manager.CreateAsync(new VmCreateOptions { Name = "inst", Image = "installed", DiskSizeGiB = 1, MemoryMiB = 256 }, CancellationToken.None);
        var consoleLog = Path.Combine(vm.Directory, "console.log");
        var noAgent = new VmStartOptions { WaitForAgent = false };

        await host.Manager.SetAsync("inst", new VmSetOptions { ChangeIsoPath = true, IsoPath = iso }, dryRun: false, CancellationToken.None);
        await host.Manager.StartAsync("inst", noAgent, null, CancellationToken.None);
        await WaitUntilOffAsync("inst");
        var fromIso = await File.ReadAllTextAsync(consoleLog);

        Assert.Contains(Marker, fromIso, StringComparison.Ordinal);
        Assert.DoesNotContain(fromDiskMarker, fromIso, StringComparison.Ordinal);

        File.Delete(consoleLog);
        await host.Manager.SetAsync("inst", new VmSetOptions { ChangeIsoPath = true }, dryRun: false, CancellationToken.None);
        await host.Manager.StartAsync("inst", noAgent, null, CancellationToken.None);
        await WaitUntilOffAsync("inst");
        var fromDisk = await File.ReadAllTextAsync(consoleLog);

        Assert.Contains(fromDiskMarker, fromDisk, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, fromDisk, StringComparison.Ordinal);
        Assert.Equal(VmState.Stopped, (await host.Manager.GetAsync("inst", CancellationToken.None)).State);
    }

    private async Task WaitUntilOffAsync(string name)
    {
        using var guard = new CancellationTokenSource(PowerOffBound);
        while ((await host.Manager.GetAsync(name, CancellationToken.None)).State.IsActive())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), guard.Token);
        }
    }
}
