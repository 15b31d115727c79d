using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>Bootable ISO images for the CD-ROM tests.</summary>
internal static class TestIsoImages
{
    /// <summary>
    /// A UEFI-bootable ISO 9660 image made by grub-mkrescue whose GRUB prints <paramref name="marker"/> on the serial
    /// console, runs the GRUB commands <paramref name="thenRun"/> (one a line; the serial console is their terminal)
    /// and powers the VM off.
    /// </summary>
    public static async Task<string> BuildAsync(string directory, string marker, params string[] thenRun)
    {
        var tree = Path.Combine(directory, "iso-tree");
        Directory.CreateDirectory(Path.Combine(tree, "boot", "grub"));
        await File.WriteAllTextAsync(
            Path.Combine(tree, "boot", "grub", "grub.cfg"),
            $"set timeout=0\nserial --unit=0 --speed=115200\nterminal_output serial\nterminal_input serial\necho {marker}\n{string.Concat(thenRun.Select(command => command + "\n"))}halt\n");
        var iso = Path.Combine(directory, "installer.iso");
        await ExternalTool.RunCheckedAsync("grub-mkrescue", ["-d", RequiresGrubIsoFactAttribute.GrubEfiModules, "-o", iso, tree], CancellationToken.None);
        return iso;
    }
}
