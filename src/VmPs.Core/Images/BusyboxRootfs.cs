using System.Buffers.Binary;
using VmPs.Core.Host;
using VmPs.Core.State;
using VmPs.Core.Processes;

namespace VmPs.Core.Images;

/// <summary>
/// Lays out a minimal root filesystem around the host's static busybox: the binary, one symlink
/// per applet, the files a shell and the guest agent expect, and the mount points.
/// </summary>
internal static class BusyboxRootfs
{
    public const string DefaultBusyboxPath = "/bin/busybox";

    // Permission bits written as rwx groups: user, group, other (the sticky bit leads for /tmp).
    private const uint Mode755 = 0b111_101_101;
    private const uint Mode644 = 0b110_100_100;
    private const uint Mode700 = 0b111_000_000;
    private const uint Mode1777 = 0b1_111_111_111;

    private static readonly string[] MountPoints = ["proc", "sys", "dev", "run", "mnt"];

    public static async Task CreateAsync(string busyboxPath, string root, CancellationToken cancellationToken)
    {
        RequireStaticBusybox(busyboxPath);
        var applets = await ListAppletsAsync(busyboxPath, cancellationToken).ConfigureAwait(false);

        CreateDirectory(root, "bin", Mode755);
        var installed = Path.Combine(root, "bin", "busybox");
        File.Copy(busyboxPath, installed);
        PrivateFiles.SetMode(installed, Mode755);
        foreach (var applet in applets.Where(applet => applet != "bin/busybox"))
        {
            var link = Path.Combine(root, applet);
            CreateDirectory(root, Path.GetDirectoryName(applet)!, Mode755);
            if (!Path.Exists(link))
            {
                File.CreateSymbolicLink(link, "/bin/busybox");
            }
        }

        foreach (var mountPoint in MountPoints)
        {
            CreateDirectory(root, mountPoint, Mode755);
        }

        CreateDirectory(root, "tmp", Mode1777);
        CreateDirectory(root, "root", Mode700);
        CreateDirectory(root, "etc", Mode755);
        WriteFile(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        WriteFile(root, "etc/group", "root:x:0:\nnogroup:x:65534:\n");
        WriteFile(root, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        WriteFile(root, "etc/hostname", "busybox\n");
    }

    /// <summary>Applet paths relative to the root, e.g. "bin/sh", "usr/bin/[".</summary>
    private static async Task<IReadOnlyList<string>> ListAppletsAsync(string busyboxPath, CancellationToken cancellationToken)
    {
        var result = await ExternalTool.RunCheckedAsync(busyboxPath, ["--list-full"], cancellationToken).ConfigureAwait(false);
        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(path => !path.Contains("..", StringComparison.Ordinal) && !path.StartsWith('/'))
            .ToArray();
    }

    /// <summary>A dynamically linked busybox cannot run in a rootfs without its C library.</summary>
    private static void RequireStaticBusybox(string busyboxPath)
    {
        if (!File.Exists(busyboxPath))
        {
            throw new VmPsException(
                VmPsErrorIds.BusyboxNotInstalled,
                VmPsErrorKind.NotInstalled,
                $"The default image 'busybox' is built from the host's {busyboxPath}, which does not exist. Install the package '{HostToolCatalog.Busybox.Package}'.",
                busyboxPath)
            {
                RecommendedAction = $"apt-get install {HostToolCatalog.Busybox.Package}",
            };
        }

        if (HasInterpreter(busyboxPath))
        {
            throw new VmPsException(
                VmPsErrorIds.BusyboxNotStatic,
                VmPsErrorKind.NotInstalled,
                $"{busyboxPath} is dynamically linked, so it cannot run inside the image. Install the package '{HostToolCatalog.Busybox.Package}', which provides a static busybox.",
                busyboxPath)
            {
                RecommendedAction = $"apt-get install {HostToolCatalog.Busybox.Package}",
            };
        }
    }

    /// <summary>True when the ELF64 file has a PT_INTERP program header, i.e. needs a dynamic loader.</summary>
    private static bool HasInterpreter(string path)
    {
        const uint programHeaderInterpreter = 3;
        var bytes = File.ReadAllBytes(path).AsSpan();
        if (bytes.Length < 64 || !bytes[..4].SequenceEqual("\u007fELF"u8) || bytes[4] != 2)
        {
            return false;
        }

        var headerOffset = BinaryPrimitives.ReadUInt64LittleEndian(bytes[0x20..]);
        var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[0x36..]);
        var headerCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes[0x38..]);
        for (var i = 0; i < headerCount; i++)
        {
            var offset = (int)headerOffset + (i * headerSize);
            if (offset + 4 <= bytes.Length && BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]) == programHeaderInterpreter)
            {
                return true;
            }
        }

        return false;
    }

    private static void CreateDirectory(string root, string relative, uint mode)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(path);
        PrivateFiles.SetMode(path, mode);
    }

    private static void WriteFile(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        File.WriteAllText(path, content);
        PrivateFiles.SetMode(path, Mode644);
    }
}
