using System.Text;

namespace VmPs.Core.Storage;

/// <summary>
/// The ISO 9660 image New-Vm -IsoPath puts in the VM's CD-ROM drive. It is checked by its volume descriptors (ECMA-119:
/// 2048-byte descriptors from byte 32768, each "CD001" after a type byte, a primary one before the set's terminator),
/// reading a bounded number of them; the file is only ever opened read-only.
/// </summary>
internal static class InstallerIso
{
    private const int SectorBytes = 2048;
    private const long DescriptorsOffset = 16 * SectorBytes;

    // Real images put the primary descriptor first, with a boot record, a supplementary (Joliet) or two before the end.
    private const int MaxDescriptors = 16;

    private const byte PrimaryDescriptor = 1;
    private const byte SetTerminator = 255;
    private static readonly byte[] StandardIdentifier = Encoding.ASCII.GetBytes("CD001");

    /// <summary>
    /// The ISO at <paramref name="path"/> (absolute) for VM <paramref name="vmName"/>: IsoNotFound, IsoPathIsDirectory,
    /// IsoNotReadable or IsoNotIso9660 when it is not one.
    /// </summary>
    public static void Check(string path, string vmName)
    {
        if (Directory.Exists(path))
        {
            throw Error(VmPsErrorIds.IsoPathIsDirectory, VmPsErrorKind.InvalidArgument, $"'{path}' is a directory, not an ISO image.", path, "Give the path of an .iso file.");
        }

        if (!File.Exists(path))
        {
            throw Error(VmPsErrorIds.IsoNotFound, VmPsErrorKind.ObjectNotFound, $"No ISO image at '{path}' (for VM '{vmName}').", path, "Check the path given to -IsoPath.");
        }

        if (!BlockDevices.IsRegularFile(path))
        {
            throw NotIso(path, "it is not a regular file");
        }

        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            CheckDescriptors(file, path);
        }
        catch (UnauthorizedAccessException error)
        {
            throw Error(VmPsErrorIds.IsoNotReadable, VmPsErrorKind.PermissionDenied, $"The ISO image '{path}' cannot be read: {error.Message}", path, "Make the file readable by this user.");
        }
    }

    private static void CheckDescriptors(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path)
    {
        var descriptor = new byte[1 + StandardIdentifier.Length + 1];
        for (var index = 0; index < MaxDescriptors; index++)
        {
            if (RandomAccess.Read(file, descriptor, DescriptorsOffset + ((long)index * SectorBytes)) < descriptor.Length)
            {
                throw NotIso(path, index == 0 ? "it is too small to hold ISO 9660 volume descriptors" : "its volume descriptors end before their terminator");
            }

            if (!descriptor.AsSpan(1, StandardIdentifier.Length).SequenceEqual(StandardIdentifier) || descriptor[^1] != 1)
            {
                throw NotIso(path, $"volume descriptor {index} has no ISO 9660 identifier (CD001, version 1)");
            }

            if (descriptor[0] == PrimaryDescriptor)
            {
                return;
            }

            if (descriptor[0] == SetTerminator)
            {
                throw NotIso(path, "it has no primary volume descriptor");
            }
        }

        throw NotIso(path, $"no primary volume descriptor among its first {MaxDescriptors}");
    }

    private static VmPsException NotIso(string path, string why) =>
        Error(VmPsErrorIds.IsoNotIso9660, VmPsErrorKind.InvalidData, $"'{path}' is not an ISO 9660 image: {why}.", path, "Give a CD or DVD image (.iso), such as an installer's.");

    private static VmPsException Error(string id, VmPsErrorKind kind, string message, string path, string action) =>
        new(id, kind, message, path) { RecommendedAction = action };
}
