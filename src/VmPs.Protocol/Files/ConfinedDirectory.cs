using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>How a <see cref="ConfinedDirectory"/> treats paths and symbolic links that point above it.</summary>
public enum Confinement
{
    /// <summary>
    /// Like openat2's RESOLVE_BENEATH: "..", an absolute link or any chain of links that would leave the directory
    /// fails with PathEscape. For trees written under a destination the user chose (copies out of a guest).
    /// </summary>
    Beneath,

    /// <summary>
    /// Like RESOLVE_IN_ROOT: the directory is the root, as in a chroot; absolute link targets start at it and ".."
    /// stops at it. For an image's root filesystem, whose links are absolute in the image's own terms.
    /// </summary>
    InRoot,
}

/// <summary>
/// A directory opened once, below which paths are resolved by the kernel, never by string checks: openat2(2) with
/// RESOLVE_BENEATH (or RESOLVE_IN_ROOT) and RESOLVE_NO_MAGICLINKS, so no "..", link or chain of links
/// (<c>a -> .</c>, <c>b -> a/a/../../etc</c>), nor a rename racing the lookup, reaches outside it; /proc's magic
/// links are never followed. Only directories are resolved here: callers act on the last component with the
/// <see cref="UnixDirectoryCalls"/> (*at calls that never follow it).
/// Where openat2 is missing (Linux before 5.6, or a seccomp filter that answers ENOSYS) the same rules are applied by
/// walking one component at a time with O_NOFOLLOW, reading each link and resolving its target on the walk's own
/// stack of descriptors, so the kernel never follows a link (nor a magic link) for it.
/// </summary>
public sealed class ConfinedDirectory : IDisposable
{
    private const ulong ResolveNoMagicLinks = 0x02;
    private const ulong ResolveBeneath = 0x08;
    private const ulong ResolveInRoot = 0x10;
    private const int DirectoryFlags = UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly | UnixDirectoryCalls.OpenCloseOnExec;

    // The kernel's own limit on links followed in one lookup (MAXSYMLINKS).
    private const int MaxLinkHops = 40;

    // openat2 answers EAGAIN when a rename elsewhere raced the lookup; the lookup is safe to repeat.
    private const int RaceRetries = 64;

    private static readonly AsyncLocal<bool> ComponentWalkForced = new();
    private static bool openat2Missing;

    private ConfinedDirectory(SafeFileHandle handle, string path, Confinement confinement)
    {
        Handle = handle;
        Path = path;
        Confinement = confinement;
    }

    /// <summary>The open directory (an O_PATH descriptor): the base for <see cref="UnixDirectoryCalls"/>.</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>The directory's path when it was opened, for messages only.</summary>
    public string Path { get; }

    public Confinement Confinement { get; }

    /// <summary>Makes this async flow's lookups take the component walk, as on a kernel without openat2 (tests of that walk).</summary>
    internal static bool ForceComponentWalk
    {
        get => ComponentWalkForced.Value;
        set => ComponentWalkForced.Value = value;
    }

    /// <summary>
    /// Opens <paramref name="path"/> (resolved the ordinary way: it is the caller's own choice) as the directory
    /// below which everything else is confined.
    /// </summary>
    public static ConfinedDirectory Open(string path, Confinement confinement)
    {
        var full = System.IO.Path.GetFullPath(path);
        return new ConfinedDirectory(UnixDirectoryCalls.Open(UnixDirectoryCalls.CurrentDirectory, full, DirectoryFlags), full, confinement);
    }

    /// <summary>
    /// The directory at <paramref name="relativePath"/> ("" is this one). With <paramref name="createMissing"/>,
    /// missing directories on the way are created with <paramref name="mode"/>. A dangling link on the way is never
    /// created through when confined <see cref="Confinement.Beneath"/>; <see cref="Confinement.InRoot"/>, as mkdir -p
    /// in a chroot, creates its target inside the root (an image's /var/run -> /run before /run exists).
    /// </summary>
    public SafeFileHandle OpenDirectory(string relativePath, bool createMissing = false, UnixFileMode mode = DefaultDirectoryMode) =>
        OpenDirectory(relativePath, createMissing, mode, linkHops: 0);

    private SafeFileHandle OpenDirectory(string relativePath, bool createMissing, UnixFileMode mode, int linkHops)
    {
        try
        {
            return Resolve(relativePath, directoryOnly: true);
        }
        catch (FileOperationException error) when (createMissing && error.Code == FileErrorCodes.NotFound)
        {
            var (parent, name) = OpenParent(relativePath, createMissing: true, mode);
            using (parent)
            {
                try
                {
                    UnixDirectoryCalls.MakeDirectory(parent, name, mode);
                }
                catch (FileOperationException exists) when (exists.Code == FileErrorCodes.Exists)
                {
                    // Made meanwhile, or a dangling link: the no-follow open below tells them apart.
                }

                if (Confinement == Confinement.InRoot && UnixDirectoryCalls.TryGetStatus(parent, name)?.Kind == FileKind.SymbolicLink)
                {
                    if (linkHops == MaxLinkHops)
                    {
                        throw Loop(relativePath);
                    }

                    var target = UnixDirectoryCalls.ReadLink(parent, name);
                    var parentPath = relativePath.TrimEnd('/');
                    parentPath = parentPath[..(parentPath.LastIndexOf('/') + 1)];
                    return OpenDirectory(target.StartsWith('/') ? target : parentPath + target, createMissing: true, mode, linkHops + 1);
                }

                return UnixDirectoryCalls.Open(parent, name, DirectoryFlags | UnixDirectoryCalls.OpenNoFollow);
            }
        }
    }

    /// <summary>
    /// The directory holding the last component of <paramref name="relativePath"/>, and that component, which is
    /// not resolved: act on it with the <see cref="UnixDirectoryCalls"/>, which never follow it.
    /// </summary>
    public (SafeFileHandle Directory, string Name) OpenParent(string relativePath, bool createMissing = false, UnixFileMode mode = DefaultDirectoryMode)
    {
        var trimmed = relativePath.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var name = trimmed[(slash + 1)..];
        if (name is "" or "." or "..")
        {
            throw new FileOperationException(FileErrorCodes.PathEscape, $"'{relativePath}' does not end in a name below '{Path}'.");
        }

        var parent = slash < 0 ? "" : trimmed[..(slash + 1)];
        return (OpenDirectory(parent, createMissing, mode), name);
    }

    /// <summary>
    /// Whether <paramref name="relativePath"/>, following every link on it and at its end, reaches something that
    /// exists inside; false when it leads nowhere (a dangling link). Fails with PathEscape when it leads outside.
    /// </summary>
    public bool ResolvesInside(string relativePath)
    {
        try
        {
            Resolve(relativePath, directoryOnly: false).Dispose();
            return true;
        }
        catch (FileOperationException error) when (error.Code is FileErrorCodes.NotFound or FileErrorCodes.NotADirectory)
        {
            return false;
        }
    }

    /// <summary>A directory below this one as a confinement of its own (a tree written under it stays in it).</summary>
    public ConfinedDirectory OpenConfined(string relativePath, bool createMissing = false, UnixFileMode mode = DefaultDirectoryMode) =>
        new(OpenDirectory(relativePath, createMissing, mode), System.IO.Path.Join(Path, relativePath), Confinement);

    public void Dispose() => Handle.Dispose();

    /// <summary>rwxr-xr-x, before the umask.</summary>
    public const UnixFileMode DefaultDirectoryMode = (UnixFileMode)0x1ED;

    private SafeFileHandle Resolve(string relativePath, bool directoryOnly)
    {
        var path = relativePath.Length == 0 ? "." : relativePath;
        if (!ForceComponentWalk && !Volatile.Read(ref openat2Missing))
        {
            var resolve = ResolveNoMagicLinks | (Confinement == Confinement.Beneath ? ResolveBeneath : ResolveInRoot);
            var flags = directoryOnly ? DirectoryFlags : UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenCloseOnExec;
            for (var attempt = 0; attempt < RaceRetries; attempt++)
            {
                var fd = UnixDirectoryCalls.OpenAt2(Handle, path, (ulong)flags, resolve);
                if (fd >= 0)
                {
                    return new SafeFileHandle(fd, ownsHandle: true);
                }

                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == UnixDirectoryCalls.ENOSYS)
                {
                    Volatile.Write(ref openat2Missing, true);
                    break;
                }

                if (errno == UnixDirectoryCalls.ELOOP)
                {
                    throw Loop(relativePath);
                }

                if (errno != UnixDirectoryCalls.EAGAIN)
                {
                    throw UnixDirectoryCalls.Failure(errno, Describe(relativePath), "open");
                }
            }

            if (!Volatile.Read(ref openat2Missing))
            {
                throw UnixDirectoryCalls.Failure(UnixDirectoryCalls.EAGAIN, Describe(relativePath), "open");
            }
        }

        return Walk(relativePath, directoryOnly);
    }

    /// <summary>The same lookup without openat2: one component at a time, links resolved on our own descriptor stack.</summary>
    private SafeFileHandle Walk(string relativePath, bool directoryOnly)
    {
        var opened = new List<SafeFileHandle>();
        var pending = new Stack<string>();
        Push(pending, relativePath);
        var hops = 0;
        try
        {
            if (relativePath.StartsWith('/'))
            {
                StartAtRoot(relativePath, opened);
            }

            while (pending.TryPop(out var component))
            {
                if (component is "" or ".")
                {
                    continue;
                }

                if (component == "..")
                {
                    if (opened.Count > 0)
                    {
                        opened[^1].Dispose();
                        opened.RemoveAt(opened.Count - 1);
                    }
                    else if (Confinement == Confinement.Beneath)
                    {
                        throw Escape(relativePath);
                    }

                    continue;
                }

                var current = opened.Count == 0 ? Handle : opened[^1];
                var next = UnixDirectoryCalls.Open(current, component, UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenNoFollow);
                switch (UnixDirectoryCalls.GetStatus(next).Kind)
                {
                    case FileKind.Directory:
                        opened.Add(next);
                        break;
                    case FileKind.SymbolicLink:
                        using (next)
                        {
                            if (++hops > MaxLinkHops)
                            {
                                throw Loop(relativePath);
                            }

                            var target = UnixDirectoryCalls.ReadLink(next, "");
                            if (target.StartsWith('/'))
                            {
                                StartAtRoot(relativePath, opened);
                            }

                            Push(pending, target);
                        }

                        break;
                    default:
                        if (!directoryOnly && pending.All(rest => rest.Length == 0))
                        {
                            return next;
                        }

                        next.Dispose();
                        throw UnixDirectoryCalls.Failure(UnixDirectoryCalls.ENOTDIR, Describe(relativePath), "open");
                }
            }

            if (opened.Count == 0)
            {
                return UnixDirectoryCalls.Open(Handle, ".", DirectoryFlags);
            }

            var result = opened[^1];
            opened.RemoveAt(opened.Count - 1);
            return result;
        }
        finally
        {
            opened.ForEach(handle => handle.Dispose());
        }
    }

    /// <summary>An absolute path or link target: an escape when confined beneath, the root itself in a chroot.</summary>
    private void StartAtRoot(string relativePath, List<SafeFileHandle> opened)
    {
        if (Confinement == Confinement.Beneath)
        {
            throw Escape(relativePath);
        }

        opened.ForEach(handle => handle.Dispose());
        opened.Clear();
    }

    private static void Push(Stack<string> pending, string path)
    {
        var components = path.Split('/');
        for (var index = components.Length - 1; index >= 0; index--)
        {
            pending.Push(components[index]);
        }
    }

    private FileOperationException Escape(string relativePath) =>
        UnixDirectoryCalls.Failure(UnixDirectoryCalls.EXDEV, Describe(relativePath), "open");

    // Only symbolic links are followed here (RESOLVE_NO_MAGICLINKS aside, and /proc is never below a destination).
    private FileOperationException Loop(string relativePath) =>
        new(FileErrorCodes.LinkLoop, $"Cannot open '{Describe(relativePath)}': it goes through more than {MaxLinkHops} symbolic links.");

    private string Describe(string relativePath) => System.IO.Path.Join(Path, relativePath);
}
