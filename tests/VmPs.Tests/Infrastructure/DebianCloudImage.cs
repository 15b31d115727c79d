using System.Diagnostics;
using System.Globalization;
using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A small UEFI-bootable Debian cloud image, built like a distribution's: the cached debootstrap root (systemd,
/// cloud-init, the cloud kernel), a GPT disk with a VFAT ESP holding a standalone GRUB (grub-mkstandalone) and an ext4
/// root, each partition made as a file (mkfs.vfat and mtools, mkfs.ext4 -d) and written into place: no loop devices,
/// no mounts. Kept as qcow2 beside the debootstrap roots (<see cref="DebootstrapCache.Directory"/>); delete it to build
/// it again.
/// </summary>
internal static class DebianCloudImage
{
    /// <summary>Changing how the image is made must change this, so a cached image of the old recipe is not used.</summary>
    private const string Recipe = "bookworm-uefi-cloud-v1";

    public const string RootLabel = "vmps-root";

    /// <summary>
    /// python3-cffi-backend is named because debootstrap does not resolve the virtual packages python3-cryptography
    /// (cloud-init's dependency) depends on, and leaves cloud-init unconfigured without it.
    /// </summary>
    public static readonly string[] Packages = ["cloud-init", "ifupdown", "linux-image-cloud-amd64", "python3-cffi-backend", "systemd-sysv", "udev"];

    private const int EspMiB = 32;
    private const int RootMiB = 2048;

    /// <summary>The programs the build runs (root is needed too: the root tree keeps its owners).</summary>
    public static readonly string[] Programs = ["debootstrap", "grub-mkstandalone", "mkfs.vfat", "mmd", "mcopy", "sgdisk", "mkfs.ext4", "qemu-img"];

    public static async Task<string> PathAsync(Action<string> log)
    {
        var image = Path.Combine(DebootstrapCache.Directory, "disk-images", Recipe + ".qcow2");
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        using var buildLock = await DebootstrapCache.LockAsync(image + ".lock");
        if (File.Exists(image))
        {
            log($"Debian cloud image: cached, {image}");
            return image;
        }

        var tar = await DebootstrapCache.MinbaseTarAsync("bookworm", Packages, log);
        var watch = Stopwatch.StartNew();
        var work = Directory.CreateDirectory($"{image}.{Environment.ProcessId}.work").FullName;
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(work, "root")).FullName;
            await RunAsync("tar", "--numeric-owner", "--xattrs", "-xpf", tar, "-C", root);
            var kernel = Directory.GetFiles(Path.Combine(root, "boot"), "vmlinuz-*").Single();
            var version = Path.GetFileName(kernel)["vmlinuz-".Length..];
            // Only NoCloud is looked for: ds-identify skips probing the clouds this VM is not on.
            await File.WriteAllTextAsync(Path.Combine(root, "etc/cloud/cloud.cfg.d/90-vmps-test.cfg"), "datasource_list: [NoCloud, None]\n");

            var grubConfig = Path.Combine(work, "grub.cfg");
            await File.WriteAllTextAsync(grubConfig, $"""
                set timeout=0
                insmod part_gpt
                insmod ext2
                search --no-floppy --set=root --label {RootLabel}
                linux /boot/vmlinuz-{version} root=LABEL={RootLabel} rw console=ttyS0
                initrd /boot/initrd.img-{version}
                boot

                """);
            var loader = Path.Combine(work, "BOOTX64.EFI");
            await RunAsync("grub-mkstandalone", "-O", "x86_64-efi", "-o", loader, $"boot/grub/grub.cfg={grubConfig}");
            var esp = Path.Combine(work, "esp.img");
            await RunAsync("mkfs.vfat", "-C", "-n", "ESP", esp, (EspMiB * 1024).ToString(CultureInfo.InvariantCulture));
            await RunAsync("mmd", "-i", esp, "::/EFI", "::/EFI/BOOT");
            await RunAsync("mcopy", "-i", esp, loader, "::/EFI/BOOT/BOOTX64.EFI");
            var rootImage = Path.Combine(work, "root.img");
            await RunAsync("mkfs.ext4", "-q", "-L", RootLabel, "-d", root, rootImage, $"{RootMiB}M");

            // GPT: 1 MiB for the table, the ESP, the root, and 1 MiB for the backup table.
            var disk = Path.Combine(work, "disk.raw");
            await using (var file = File.Create(disk))
            {
                file.SetLength((long)(1 + EspMiB + RootMiB + 1) << 20);
            }

            const int sectorsPerMiB = 2048;
            await RunAsync(
                "sgdisk",
                "-n", $"1:{sectorsPerMiB}:+{EspMiB}M", "-t", "1:ef00", "-c", "1:ESP",
                "-n", $"2:{(1 + EspMiB) * sectorsPerMiB}:+{RootMiB}M", "-t", "2:8304", "-c", "2:root",
                disk);
            await RunAsync("dd", $"if={esp}", $"of={disk}", "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none");
            await RunAsync("dd", $"if={rootImage}", $"of={disk}", "bs=1M", $"seek={1 + EspMiB}", "conv=notrunc,sparse", "status=none");
            var partial = Path.Combine(work, "disk.qcow2");
            await RunAsync("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", disk, partial);
            File.Move(partial, image);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        log($"Debian cloud image: not cached, built in {watch.Elapsed.TotalSeconds:0} s as {image}");
        return image;
    }

    private static Task<ToolResult> RunAsync(string program, params string[] arguments) =>
        ExternalTool.RunCheckedAsync(program, arguments, CancellationToken.None);
}
