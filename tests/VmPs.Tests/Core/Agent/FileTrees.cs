using System.Formats.Tar;
using System.Security.Cryptography;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>Test trees and content: files with modes and times, links and empty directories, compared entry by entry.</summary>
internal static class FileTrees
{
    public static readonly DateTimeOffset FixedTime = new(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);

    /// <summary>A tree with a 0755 script, a 0600 secret, a nested file, a relative link, an empty 0700 directory.</summary>
    public static void CreateSample(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "sub", "deeper"));
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        WriteFile(Path.Combine(root, "run.sh"), "#!/bin/sh\necho hi\n", "755");
        WriteFile(Path.Combine(root, "secret"), "key", "600");
        WriteFile(Path.Combine(root, "sub", "deeper", "data.bin"), new string('x', 200_000), "644");
        File.CreateSymbolicLink(Path.Combine(root, "sub", "link"), "deeper/data.bin");
        UnixFileSystem.SetMode(Path.Combine(root, "empty"), (UnixFileMode)Convert.ToInt32("700", 8));
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root))
        {
            UnixFileSystem.SetLastWriteTime(path, FixedTime);
        }
    }

    public static void WriteFile(string path, string content, string octalMode)
    {
        File.WriteAllText(path, content);
        UnixFileSystem.SetMode(path, (UnixFileMode)Convert.ToInt32(octalMode, 8));
    }

    /// <summary>Every entry under root as "relative type mode mtime size link", for comparing trees.</summary>
    public static IReadOnlyList<string> Describe(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(path =>
            {
                var status = UnixFileSystem.GetStatus(path);
                var link = status.Kind == FileKind.SymbolicLink ? new FileInfo(path).LinkTarget : null;
                var size = status.Kind == FileKind.File ? status.Size : 0;
                return $"{Path.GetRelativePath(root, path)} {status.Kind} {Convert.ToString(status.Mode, 8)} {status.LastWriteTimeUtc.ToUnixTimeSeconds()} {size} {link}";
            })
            .Order(StringComparer.Ordinal)
            .ToList();

    public static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }

    /// <summary>A tar stream with hand-made entries, as a hostile peer could send.</summary>
    public static MemoryStream Tar(params TarEntry[] entries)
    {
        var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }

        archive.Position = 0;
        return archive;
    }

    public static PaxTarEntry FileEntry(string name, string content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) };

    public static PaxTarEntry LinkEntry(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };
}
