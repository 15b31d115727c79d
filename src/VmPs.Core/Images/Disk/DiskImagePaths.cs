namespace VmPs.Core.Images.Disk;

/// <summary>Tells New-VmImage -Path a disk image (imported whole) from a docker save archive (a .tar of layers).</summary>
public static class DiskImagePaths
{
    private static readonly string[] Extensions = [".qcow2", ".qcow", ".img", ".raw"];

    /// <summary>Whether the file name ends as disk images do (cloud images ship as .qcow2, .img or .raw).</summary>
    public static bool HasDiskImageExtension(string path) =>
        Extensions.Any(extension => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    /// <summary>The image name a disk image gets without -Name: its file name without the extension.</summary>
    public static string DefaultName(string path) => Path.GetFileNameWithoutExtension(path);
}
