using System.Formats.Tar;
using System.Text;
using VmPs.Core.Images.Oci;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// Layer tars for pipeline tests: a busybox root (the host's busybox-static with applet symlinks), a second
/// layer that deletes a file of the first through a whiteout and adds one, and a hostile traversal layer.
/// </summary>
internal static class PipelineTestImages
{
    public const string Layer2File = "srv/hello.txt";
    public const string Layer2Content = "written by layer 2\n";
    public const string WhitedOutFile = "etc/removed-by-layer-2";

    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Readable = (UnixFileMode)0b110_100_100;

    public static OciImageConfig Config { get; } = new()
    {
        Entrypoint = ["/bin/sleep"],
        Cmd = ["86400"],
        Env = ["PATH=/bin", "GREETING=hello"],
        WorkingDir = "/srv",
        User = "root",
        ExposedPorts = ["8080/tcp"],
        Labels = new Dictionary<string, string> { ["org.opencontainers.image.title"] = "pipeline-test" },
        StopSignal = "SIGINT",
    };

    public static byte[] BusyboxLayer() => Tar(writer =>
    {
        foreach (var directory in new[] { "bin/", "etc/", "srv/", "tmp/", "proc/", "sys/", "dev/", "run/", "root/" })
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, directory) { Mode = Executable });
        }

        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = Executable, DataStream = new MemoryStream(File.ReadAllBytes("/bin/busybox")) });
        foreach (var applet in new[] { "sh", "cat", "ls", "sleep", "test", "echo", "uname", "ps" })
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{applet}") { LinkName = "busybox", Mode = Executable });
        }

        WriteFile(writer, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        WriteFile(writer, "etc/group", "root:x:0:\n");
        WriteFile(writer, WhitedOutFile, "layer 2 deletes this\n");
    });

    public static byte[] SecondLayer() => Tar(writer =>
    {
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/.wh.removed-by-layer-2") { Mode = Readable, DataStream = new MemoryStream() });
        WriteFile(writer, Layer2File, Layer2Content);
    });

    /// <summary>A layer whose entry climbs out of the root.</summary>
    public static byte[] TraversalLayer(string escapingPath) => Tar(writer => WriteFile(writer, escapingPath, "escaped\n"));

    private static void WriteFile(TarWriter writer, string path, string content) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = Readable, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });

    private static byte[] Tar(Action<TarWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }

        return buffer.ToArray();
    }
}
