using System.Globalization;
using System.Text.Json;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>What qemu-img reports about one disk image file.</summary>
/// <param name="VirtualSizeBytes">The size the guest sees.</param>
/// <param name="AllocatedBytes">The host blocks the file really uses.</param>
/// <param name="BackingFile">The file a qcow2 image reads unwritten clusters from; null: none.</param>
/// <param name="DataFile">The external file a qcow2 image keeps its guest data in; null: inside the image.</param>
internal sealed record DiskImageInfo(DiskImageFormat Format, long VirtualSizeBytes, long AllocatedBytes, string? BackingFile, string? DataFile = null);

/// <summary>What qemu-img check found (its exit codes 0, 3, 2 and 1).</summary>
internal enum DiskImageCheckResult
{
    Clean,

    /// <summary>Clusters allocated but unused: wasted space, no harm to the data.</summary>
    Leaks,

    Corrupt,

    /// <summary>The check could not complete: the metadata is too damaged to walk.</summary>
    Failed,
}

/// <summary>
/// qemu-img (qemu-utils) for disk image files: inspect, check, grow and convert (an empty qcow2 file over a backing
/// file is written in-process, <see cref="Qcow2Overlay"/>).
/// Every call names the format explicitly (-f, -F): a raw disk holds whatever its guest wrote, and letting qemu-img
/// probe it would let a guest that wrote a qcow2 header there point the host at any file as its "backing file".
/// </summary>
internal static class QemuImage
{
    /// <summary>A qemu-img info answer is a few hundred bytes; anything far larger is not one.</summary>
    private const int MaxInfoBytes = 1 << 20;

    public static bool IsInstalled => DetachedProcess.FindOnPath(HostToolCatalog.QemuImg.Name, HostToolCatalog.DefaultSearchPath()) is not null;

    /// <summary>Reads the header only (-U): the image may be open in a running hypervisor.</summary>
    public static async Task<DiskImageInfo> InfoAsync(string path, DiskImageFormat format, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["info", "--output=json", "-U", "-f", Name(format), path], cancellationToken).ConfigureAwait(false);
        if (result.StandardOutput.Length > MaxInfoBytes)
        {
            throw InvalidAnswer(path, "the answer is too large");
        }

        try
        {
            using var document = JsonDocument.Parse(result.StandardOutput);
            var root = document.RootElement;
            var backing = root.TryGetProperty("full-backing-filename", out var full) ? full.GetString()
                : root.TryGetProperty("backing-filename", out var relative) ? relative.GetString() : null;
            var dataFile = root.TryGetProperty("format-specific", out var specific)
                && specific.TryGetProperty("data", out var data)
                && data.TryGetProperty("data-file", out var dataFileName) ? dataFileName.GetString() : null;
            return new DiskImageInfo(
                format,
                root.GetProperty("virtual-size").GetInt64(),
                root.TryGetProperty("actual-size", out var actual) ? actual.GetInt64() : 0,
                backing,
                dataFile);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw InvalidAnswer(path, exception.Message);
        }
    }

    /// <summary>Walks a qcow2 image's metadata (raw images have none to check); the message is qemu-img's own.</summary>
    public static async Task<(DiskImageCheckResult Result, string Message)> CheckAsync(string path, CancellationToken cancellationToken)
    {
        var result = await ExternalTool.RunAsync(
            HostTools.Require(HostToolCatalog.QemuImg), ["check", "-q", "-f", Name(DiskImageFormat.Qcow2), path], cancellationToken).ConfigureAwait(false);
        var verdict = result.ExitCode switch
        {
            0 => DiskImageCheckResult.Clean,
            3 => DiskImageCheckResult.Leaks,
            2 => DiskImageCheckResult.Corrupt,
            _ => DiskImageCheckResult.Failed,
        };
        return (verdict, (result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput).Trim());
    }

    /// <summary>Grows the image to <paramref name="sizeBytes"/>; shrinking is refused by the callers, never attempted.</summary>
    public static Task ResizeAsync(string path, DiskImageFormat format, long sizeBytes, CancellationToken cancellationToken) =>
        RunAsync(["resize", "-q", "-f", Name(format), path, sizeBytes.ToString(CultureInfo.InvariantCulture)], cancellationToken);

    /// <summary>Writes <paramref name="source"/> as a new image in <paramref name="destinationFormat"/>, keeping it sparse.</summary>
    public static Task ConvertAsync(string source, DiskImageFormat sourceFormat, string destination, DiskImageFormat destinationFormat, CancellationToken cancellationToken) =>
        RunAsync(["convert", "-q", "-f", Name(sourceFormat), "-O", Name(destinationFormat), source, destination], cancellationToken);

    /// <summary>
    /// Has <paramref name="buildRaw"/> make a raw file beside <paramref name="path"/> and writes it to <paramref name="path"/>
    /// as a private qcow2 image; the raw file is removed, and on failure the qcow2 image too.
    /// </summary>
    public static async Task CreateFromRawAsync(string path, Func<string, Task> buildRaw, CancellationToken cancellationToken)
    {
        var raw = path + ".raw";
        try
        {
            await buildRaw(raw).ConfigureAwait(false);
            await ConvertAsync(raw, DiskImageFormat.Raw, path, DiskImageFormat.Qcow2, cancellationToken).ConfigureAwait(false);
            PrivateFiles.Restrict(path);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        finally
        {
            File.Delete(raw);
        }
    }

    public static string Name(DiskImageFormat format) => format switch
    {
        DiskImageFormat.Raw => "raw",
        DiskImageFormat.Qcow2 => "qcow2",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    private static Task<ToolResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        ExternalTool.RunCheckedAsync(HostTools.Require(HostToolCatalog.QemuImg), arguments, cancellationToken);

    private static VmPsException InvalidAnswer(string path, string why) =>
        new(VmPsErrorIds.QemuImgInvalidAnswer, VmPsErrorKind.ProtocolError, $"qemu-img info of '{path}' gave an answer VmPs cannot read: {why}.", path);
}

/// <summary>A backing file of a qcow2 image, with its format stated (never probed).</summary>
internal sealed record BackingImage(string Path, DiskImageFormat Format);
