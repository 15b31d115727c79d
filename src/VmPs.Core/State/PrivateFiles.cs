using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Native;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.State;

/// <summary>
/// The one way VmPs makes files and directories in its state directory: directories 0700, files 0600, whatever the
/// umask. The mode is given to the creating call and set again on the new descriptor (fchmod), because the umask can
/// only take bits away and a umask of 0277 would leave even the owner short. Files other programs create there
/// (mkfs, qemu-img, the hypervisor's sockets and logs) are restricted with <see cref="Restrict"/> once they exist,
/// and an existing installation is repaired once per process when its state is first opened
/// (<see cref="PrepareRoot"/>).
/// </summary>
internal static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Group and other bits: what the state directory must never grant.</summary>
    public const UnixFileMode SharedBits = (UnixFileMode)0b000_111_111;

    /// <summary>Set-id and sticky bits: no file VmPs keeps needs them.</summary>
    private const UnixFileMode SpecialBits = UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit;

    private static readonly ConcurrentDictionary<string, bool> PreparedRoots = new(StringComparer.Ordinal);

    /// <summary>Creates <paramref name="path"/> and its missing parents, each 0700; an existing directory is left as it is.</summary>
    public static void CreateDirectory(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreateDirectory(parent);
        }

        try
        {
            CreateNewDirectory(full);
        }
        catch (FileOperationException error) when (error.Code == FileErrorCodes.Exists && Directory.Exists(full))
        {
            // Another thread or process made it first.
        }
    }

    /// <summary>Creates the directory <paramref name="path"/>, which must not exist yet, 0700 (its parent must exist).</summary>
    public static void CreateNewDirectory(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = OpenParent(full);
        var name = Path.GetFileName(full);
        UnixDirectoryCalls.MakeDirectory(parent, name, DirectoryMode);
        using var created = UnixDirectoryCalls.Open(parent, name, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenDirectoryOnly | UnixDirectoryCalls.OpenNoFollow);
        UnixDirectoryCalls.SetMode(created, DirectoryMode);
    }

    /// <summary>
    /// Opens a file 0600, creating it as <paramref name="mode"/> says (never through a symbolic link in its last
    /// component); an existing file is made 0600 too.
    /// </summary>
    public static SafeFileHandle OpenHandle(string path, System.IO.FileMode mode, FileAccess access)
    {
        var flags = access switch
        {
            FileAccess.Read => UnixDirectoryCalls.OpenReadOnly,
            FileAccess.Write => UnixDirectoryCalls.OpenWriteOnly,
            _ => UnixDirectoryCalls.OpenReadWrite,
        } | UnixDirectoryCalls.OpenNoFollow | mode switch
        {
            System.IO.FileMode.CreateNew => UnixDirectoryCalls.OpenCreate | UnixDirectoryCalls.OpenExclusive,
            System.IO.FileMode.Create => UnixDirectoryCalls.OpenCreate | UnixDirectoryCalls.OpenTruncate,
            System.IO.FileMode.OpenOrCreate => UnixDirectoryCalls.OpenCreate,
            System.IO.FileMode.Append => UnixDirectoryCalls.OpenCreate | UnixDirectoryCalls.OpenAppend,
            System.IO.FileMode.Truncate => UnixDirectoryCalls.OpenTruncate,
            _ => 0,
        };
        var handle = UnixDirectoryCalls.Open(UnixDirectoryCalls.CurrentDirectory, path, flags, FileMode);
        try
        {
            UnixDirectoryCalls.SetMode(handle, FileMode);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A stream on <see cref="OpenHandle"/> (synchronous: on Linux .NET's asynchronous file I/O is the same work on the thread pool).</summary>
    public static FileStream Open(string path, System.IO.FileMode mode, FileAccess access, int bufferSize = 4096)
    {
        var handle = OpenHandle(path, mode, access);
        try
        {
            return new FileStream(handle, access, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Makes a file another API opened (a FileStream that must keep its own share lock) 0600.</summary>
    public static void MakePrivate(SafeFileHandle file) => UnixDirectoryCalls.SetMode(file, FileMode);

    /// <summary>Writes <paramref name="lines"/> to a new or replaced 0600 file.</summary>
    public static async Task WriteAllLinesAsync(string path, IEnumerable<string> lines, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(Open(path, System.IO.FileMode.Create, FileAccess.Write));
        foreach (var line in lines)
        {
            await writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="text"/> to a new or replaced 0600 file.</summary>
    public static async Task WriteAllTextAsync(string path, string text, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(Open(path, System.IO.FileMode.Create, FileAccess.Write));
        await writer.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// chmod(2) directly, for a mode other than 0600 on a file VmPs wrote: the umask must not apply, and
    /// File.SetUnixFileMode is not callable from platform-neutral code.
    /// </summary>
    public static void SetMode(string path, uint mode)
    {
        if (Libc.chmod(path, mode) != 0)
        {
            throw new IOException($"chmod {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>
    /// Takes the group and other bits (and set-id and sticky bits) off an entry another program created; a symbolic
    /// link (which has no mode) and a missing entry are left alone. Directories become 0700, sockets and pipes 0600; files
    /// keep their owner bits.
    /// </summary>
    public static void Restrict(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = OpenParent(full);
        RestrictEntry(parent, Path.GetFileName(full));
    }

    /// <summary>
    /// Makes the state directory ready once per process: creates it 0700, or repairs an existing installation in one
    /// walk (<see cref="RepairTree"/>) of what VmPs keeps there (<see cref="VmPsPaths.OwnedEntries"/>; other files in
    /// the directory are the user's). The directory itself becomes 0700 when it holds VmPs state, unless it is shared
    /// (sticky, like /tmp) or another user's.
    /// </summary>
    public static void PrepareRoot(VmPsPaths paths)
    {
        if (PreparedRoots.ContainsKey(paths.Root))
        {
            return;
        }

        if (!Directory.Exists(paths.Root))
        {
            CreateDirectory(paths.Root);
        }
        else if (File.Exists(paths.StateDatabase)
            && UnixFileSystem.GetStatus(paths.Root) is var root
            && root.Uid == (int)Native.Libc.geteuid()
            && ((UnixFileMode)root.Mode & UnixFileMode.StickyBit) == 0)
        {
            Restrict(paths.Root);
        }

        foreach (var entry in paths.OwnedEntries)
        {
            RepairTree(entry);
        }

        PreparedRoots[paths.Root] = true;
    }

    /// <summary>
    /// Restricts <paramref name="path"/> and, for a directory, every entry below it, in one walk that never follows a
    /// symbolic link; a missing path is fine. A directory whose name starts with '.' is a work tree in progress or
    /// left by a killed command (an image's staged root filesystem, a kernel build, a volume's staged archive): it is
    /// made 0700 itself, but its content keeps the modes it needs (the image's own) until its owner removes it.
    /// </summary>
    public static void RepairTree(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = OpenParent(full);
        var name = Path.GetFileName(full);
        if (RestrictEntry(parent, name) == FileKind.Directory)
        {
            RepairBelow(parent, name);
        }
    }

    private static void RepairBelow(SafeFileHandle parent, string name)
    {
        SafeFileHandle directory;
        try
        {
            directory = UnixDirectoryCalls.Open(parent, name, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenDirectoryOnly | UnixDirectoryCalls.OpenNoFollow);
        }
        catch (FileOperationException error) when (error.Code is FileErrorCodes.NotFound or FileErrorCodes.PathEscape or FileErrorCodes.NotADirectory)
        {
            // Removed or replaced by a link since it was listed: nothing of ours to repair there.
            return;
        }

        using (directory)
        {
            foreach (var child in UnixDirectoryCalls.ListNames(directory))
            {
                if (RestrictEntry(directory, child) == FileKind.Directory && !child.StartsWith('.'))
                {
                    RepairBelow(directory, child);
                }
            }
        }
    }

    /// <summary>Restricts one entry; returns its kind (null when it is gone).</summary>
    private static FileKind? RestrictEntry(SafeFileHandle directory, string name)
    {
        if (UnixDirectoryCalls.TryGetStatus(directory, name) is not { } status)
        {
            return null;
        }

        if (status.Kind == FileKind.SymbolicLink)
        {
            return status.Kind;
        }

        var mode = (UnixFileMode)status.Mode;
        var wanted = status.Kind switch
        {
            FileKind.Directory => DirectoryMode,
            FileKind.File => mode & ~(SharedBits | SpecialBits),
            // Sockets and pipes: their execute bits mean nothing, and a socket a umask of 000 left 0777 must end 0600.
            _ => FileMode,
        };
        if (mode != wanted)
        {
            try
            {
                UnixDirectoryCalls.SetMode(directory, name, wanted);
            }
            catch (FileOperationException error) when (error.Code is FileErrorCodes.NotFound or FileErrorCodes.PathEscape)
            {
                // Removed, or replaced by a link, since its status was read.
            }
        }

        return status.Kind;
    }

    private static SafeFileHandle OpenParent(string full) => UnixDirectoryCalls.Open(
        UnixDirectoryCalls.CurrentDirectory,
        Path.GetDirectoryName(full) ?? "/",
        UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly);
}
