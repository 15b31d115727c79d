namespace VmPs.Core.Images.Layers;

/// <summary>A directory an entry's last component lives in, opened by descriptor; <see cref="Name"/> is that component.</summary>
internal sealed class ParentDirectory(int fd, string name, bool ownsFd) : IDisposable
{
    public int Fd { get; } = fd;

    public string Name { get; } = name;

    public void Dispose()
    {
        if (ownsFd)
        {
            LinuxFileSystem.Close(Fd);
        }
    }
}

/// <summary>
/// The root a layer is extracted into. Paths are walked one component at a time from a descriptor of the
/// root, opening each directory with O_NOFOLLOW, so nothing is ever reached through the host's view of a
/// path. Symlinks met on the way resolve as inside a chroot: an absolute target starts again at the root;
/// a target that climbs above the root with ".." is an escape.
/// </summary>
internal sealed class LayerRoot : IDisposable
{
    private const int MaxSymlinkHops = 40;
    private readonly int rootFd;
    private readonly string layerDigest;

    public LayerRoot(string rootDirectory, string layerDigest)
    {
        this.layerDigest = layerDigest;
        rootFd = LinuxFileSystem.OpenDirectory(LinuxFileSystem.AtFdCwd, Path.GetFullPath(rootDirectory));
    }

    /// <summary>
    /// An archive path as components below the root ("./a//b/" -> a, b); the root itself is empty.
    /// <paramref name="entryName"/> names the entry in errors when the path is not the entry's own (a hardlink target).
    /// </summary>
    public IReadOnlyList<string> Normalize(string path, string? entryName = null)
    {
        entryName ??= path;
        if (path.StartsWith('/'))
        {
            throw Escape(entryName, "it is an absolute path");
        }

        var components = new List<string>();
        foreach (var component in path.Split('/'))
        {
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                if (components.Count == 0)
                {
                    throw Escape(entryName, "'..' climbs above the root");
                }

                components.RemoveAt(components.Count - 1);
                continue;
            }

            components.Add(component);
        }

        return components;
    }

    /// <summary>The root itself as a parent: its metadata is changed through the name ".".</summary>
    public ParentDirectory RootAsEntry() => new(rootFd, ".", ownsFd: false);

    /// <summary>
    /// Opens the directory holding the last of <paramref name="components"/>. Missing parents are created
    /// when <paramref name="createMissing"/> (tar archives may omit them); otherwise a missing parent gives null.
    /// </summary>
    public ParentDirectory? OpenParent(IReadOnlyList<string> components, string entryName, bool createMissing)
    {
        var opened = new List<int>();
        var pending = new Stack<string>(components.Take(components.Count - 1).Reverse());
        var hops = 0;
        try
        {
            while (pending.TryPop(out var component))
            {
                var current = opened.Count == 0 ? rootFd : opened[^1];
                if (component is "" or ".")
                {
                    continue;
                }

                if (component == "..")
                {
                    if (opened.Count == 0)
                    {
                        throw Escape(entryName, "a symlink on its path climbs above the root");
                    }

                    LinuxFileSystem.Close(opened[^1]);
                    opened.RemoveAt(opened.Count - 1);
                    continue;
                }

                switch (LinuxFileSystem.TypeOf(current, component))
                {
                    case LinuxFileType.Missing when !createMissing:
                        CloseAll(opened);
                        return null;
                    case LinuxFileType.Missing:
                        LinuxFileSystem.MakeDirectory(current, component);
                        opened.Add(LinuxFileSystem.OpenDirectory(current, component));
                        break;
                    case LinuxFileType.Directory:
                        opened.Add(LinuxFileSystem.OpenDirectory(current, component));
                        break;
                    case LinuxFileType.SymbolicLink:
                        if (++hops > MaxSymlinkHops)
                        {
                            throw new VmPsException(
                                "LayerSymlinkLoop",
                                VmPsErrorKind.InvalidData,
                                $"Layer {layerDigest}: entry '{entryName}' goes through more than {MaxSymlinkHops} symlinks.",
                                entryName);
                        }

                        var target = LinuxFileSystem.ReadLink(current, component);
                        if (target.StartsWith('/'))
                        {
                            CloseAll(opened);
                        }

                        foreach (var part in Enumerable.Reverse(target.Split('/')))
                        {
                            pending.Push(part);
                        }

                        break;
                    default:
                        throw new VmPsException(
                            "LayerEntryParentNotDirectory",
                            VmPsErrorKind.InvalidData,
                            $"Layer {layerDigest}: entry '{entryName}' lies below '{component}', which is not a directory.",
                            entryName);
                }
            }

            return opened.Count == 0
                ? new ParentDirectory(rootFd, components[^1], ownsFd: false)
                : new ParentDirectory(PopLast(opened), components[^1], ownsFd: true);
        }
        finally
        {
            CloseAll(opened);
        }
    }

    /// <summary>
    /// Removes an entry and, for a directory, everything below it, without following any symlink. A directory is
    /// made 0700 first, so an image's unreadable directories (mode 0000, 0500) can be emptied without root.
    /// </summary>
    public static void Remove(int directoryFd, string name)
    {
        switch (LinuxFileSystem.TypeOf(directoryFd, name))
        {
            case LinuxFileType.Missing:
                return;
            case LinuxFileType.Directory:
                LinuxFileSystem.ChangeMode(directoryFd, name, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var fd = LinuxFileSystem.OpenDirectory(directoryFd, name);
                try
                {
                    foreach (var child in ListNames(fd))
                    {
                        Remove(fd, child);
                    }
                }
                finally
                {
                    LinuxFileSystem.Close(fd);
                }

                LinuxFileSystem.Unlink(directoryFd, name, directory: true);
                return;
            default:
                LinuxFileSystem.Unlink(directoryFd, name, directory: false);
                return;
        }
    }

    /// <summary>The names in an open directory (through /proc/self/fd, so the listing is of that very directory).</summary>
    public static IReadOnlyList<string> ListNames(int directoryFd) =>
        Directory.EnumerateFileSystemEntries($"/proc/self/fd/{directoryFd}").Select(Path.GetFileName).ToList()!;

    public void Dispose() => LinuxFileSystem.Close(rootFd);

    private static int PopLast(List<int> opened)
    {
        var fd = opened[^1];
        opened.RemoveAt(opened.Count - 1);
        return fd;
    }

    private static void CloseAll(List<int> opened)
    {
        foreach (var fd in opened)
        {
            LinuxFileSystem.Close(fd);
        }

        opened.Clear();
    }

    private VmPsException Escape(string entryName, string reason) => new(
        "LayerEntryEscapesRoot",
        VmPsErrorKind.InvalidData,
        $"Layer {layerDigest}: entry '{entryName}' escapes the root directory ({reason}); nothing was written outside it.",
        entryName);
}
