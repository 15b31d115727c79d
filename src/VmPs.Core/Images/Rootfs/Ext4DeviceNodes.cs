using System.Globalization;
using System.Text;
using VmPs.Core.Host;
using VmPs.Core.Images.Layers;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;

namespace VmPs.Core.Images.Rootfs;

/// <summary>
/// Turns the device placeholders of a freshly built ext4 image into device nodes with debugfs, inside the image
/// file (Debian 12's mke2fs 1.47.0 builds only from a directory, where a node would have to exist on the host).
/// Each placeholder inode keeps its owner, times and xattrs: its mode and rdev change (i_block[0..1] as the kernel's
/// ext4 reads them, extent flag cleared), and each of its names is linked again so the directory entries carry the
/// device file type.
/// </summary>
internal static class Ext4DeviceNodes
{
    private const string Scratch = "/.vmps-device-node";

    /// <summary>i_block as debugfs names its fifteen slots (the extent header of the placeholder lives there).</summary>
    private static readonly string[] BlockFields = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "IND", "DIND", "TIND"];

    public static async Task WriteAsync(string imagePath, IReadOnlyList<DeviceNode> nodes, CancellationToken cancellationToken)
    {
        if (nodes.Count == 0)
        {
            return;
        }

        var debugfs = HostTools.Require(HostToolCatalog.Debugfs);
        var script = new StringBuilder();
        foreach (var node in nodes)
        {
            var path = Quote(node);
            var (block0, block1) = Encode((uint)node.Major, (uint)node.Minor);
            var mode = (node.IsBlockDevice ? 0x6000 : 0x2000) | ((int)node.Permissions & 0xFFF);
            script.Append(CultureInfo.InvariantCulture, $"sif {path} mode 0x{mode:x}\n")
                .Append(CultureInfo.InvariantCulture, $"sif {path} flags 0\n");
            foreach (var (field, value) in BlockFields.Select((field, index) => (field, index == 0 ? block0 : index == 1 ? block1 : 0)))
            {
                script.Append(CultureInfo.InvariantCulture, $"sif {path} block[{field}] 0x{value:x}\n");
            }

            script.Append(CultureInfo.InvariantCulture, $"link {path} {Scratch}\nunlink {path}\nlink {Scratch} {path}\nunlink {Scratch}\n");
        }

        var scriptPath = imagePath + ".debugfs";
        await PrivateFiles.WriteAllTextAsync(scriptPath, script.ToString(), cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await ExternalTool.RunCheckedAsync(debugfs, ["-w", "-f", scriptPath, imagePath], cancellationToken).ConfigureAwait(false);
            // debugfs exits 0 whatever its commands did; a failed command prints to stderr (after the version banner).
            var failures = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(line => !line.StartsWith("debugfs ", StringComparison.Ordinal))
                .ToList();
            if (failures.Count > 0)
            {
                throw new VmPsException(
                    VmPsErrorIds.ExternalToolFailed,
                    VmPsErrorKind.InvalidOperation,
                    $"debugfs could not write device nodes into '{imagePath}': {string.Join("; ", failures)}",
                    imagePath);
            }
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }

    /// <summary>ext4 keeps a device number in i_block[0] when both halves fit a byte (old encoding), else in i_block[1].</summary>
    private static (uint Block0, uint Block1) Encode(uint major, uint minor) =>
        major < 256 && minor < 256
            ? ((major << 8) | minor, 0)
            : (0, (minor & 0xFF) | (major << 8) | ((minor & ~0xFFu) << 12));

    /// <summary>debugfs reads double-quoted arguments; a path it cannot express is refused rather than guessed at.</summary>
    private static string Quote(DeviceNode node) =>
        node.Path.Any(c => c == '"' || char.IsControl(c))
            ? throw new VmPsException(
                VmPsErrorIds.ImageDeviceNodeUnsupported,
                VmPsErrorKind.NotImplemented,
                $"The image's device node '{node.Path}' has a name with a quote or control character, which an ext4 image cannot be given; build it with -Format Erofs.",
                node.Path)
            : $"\"/{node.Path}\"";
}
