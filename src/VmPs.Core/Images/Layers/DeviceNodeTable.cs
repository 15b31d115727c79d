using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Images.Layers;

/// <summary>A device node of an image, which the filesystem builder creates inside the image file only.</summary>
/// <param name="Path">Relative to the root, '/'-separated ("dev/console").</param>
public sealed record DeviceNode(string Path, bool IsBlockDevice, int Major, int Minor, UnixFileMode Permissions);

/// <summary>
/// The device nodes of a staging tree. They are never created on the host, where anyone who could reach one would
/// have the host's disk or memory: extraction leaves an empty, mode-0000 placeholder file and records its inode here,
/// so whiteouts, replacements and hard links by later layers act on the placeholder like on any file, and the
/// placeholders still in the tree at build time are the image's device nodes.
/// </summary>
internal sealed class DeviceNodeTable
{
    private readonly Dictionary<ulong, (bool IsBlockDevice, int Major, int Minor, UnixFileMode Permissions)> byInode = [];

    public bool IsEmpty => byInode.Count == 0;

    public void Add(ulong inode, bool isBlockDevice, int major, int minor, UnixFileMode permissions) =>
        byInode[inode] = (isBlockDevice, major, minor, permissions);

    public bool IsPlaceholder(UnixFileStatus status) =>
        status is { Kind: FileKind.File, Size: 0, Mode: 0 } && byInode.ContainsKey(status.Inode);

    /// <summary>Every path of the tree that holds a placeholder (hard links give several), walked without following links.</summary>
    public IReadOnlyList<DeviceNode> Locate(string rootDirectory)
    {
        var found = new List<DeviceNode>();
        if (IsEmpty)
        {
            return found;
        }

        using var root = Open(UnixDirectoryCalls.CurrentDirectory, Path.GetFullPath(rootDirectory));
        Walk(root, string.Empty, found);
        return found;
    }

    private static SafeFileHandle Open(SafeFileHandle directory, string name) =>
        UnixDirectoryCalls.Open(directory, name, UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly | UnixDirectoryCalls.OpenNoFollow);

    private void Walk(SafeFileHandle directory, string prefix, List<DeviceNode> found)
    {
        foreach (var name in UnixDirectoryCalls.ListNames(directory))
        {
            if (UnixDirectoryCalls.TryGetStatus(directory, name) is not { } status)
            {
                continue;
            }

            if (status.Kind == FileKind.Directory)
            {
                using var child = Open(directory, name);
                Walk(child, $"{prefix}{name}/", found);
            }
            else if (IsPlaceholder(status))
            {
                var node = byInode[status.Inode];
                found.Add(new DeviceNode(prefix + name, node.IsBlockDevice, node.Major, node.Minor, node.Permissions));
            }
        }
    }
}
