using System.Diagnostics;
using VmPs.Core.Host;
using VmPs.Core.Images.Oci;
using VmPs.Core.Processes;

namespace VmPs.Core.Images.Layers;

/// <summary>
/// A zstd-compressed layer decompressed by the zstd tool (.NET has no zstd codec): its stdout, read as a
/// stream. The end of the stream waits for the tool and reports its failure with its stderr.
/// </summary>
internal sealed class ZstdProcessStream : Stream
{
    private readonly Process process;
    private readonly Task<string> standardError;
    private readonly string layerDigest;
    private bool disposed;

    private ZstdProcessStream(Process process, string layerDigest)
    {
        this.process = process;
        this.layerDigest = layerDigest;
        standardError = process.StandardError.ReadToEndAsync();
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public static ZstdProcessStream Start(OciDescriptor layer, string blobPath)
    {
        var zstd = DetachedProcess.FindOnPath("zstd", HostToolCatalog.DefaultSearchPath()) ?? throw new VmPsException(
            "UnsupportedLayerCompression",
            VmPsErrorKind.NotInstalled,
            $"Layer {layer.Digest} has media type '{layer.MediaType}' (zstd-compressed) and the zstd tool is not installed. Install the package 'zstd'.",
            layer.Digest)
        {
            RecommendedAction = "apt-get install zstd",
        };

        var startInfo = new ProcessStartInfo(zstd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--decompress", "--stdout", "--quiet", "--", blobPath })
        {
            startInfo.ArgumentList.Add(argument);
        }

        return new ZstdProcessStream(Process.Start(startInfo)!, layer.Digest);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = process.StandardOutput.BaseStream.Read(buffer);
        if (read == 0 && buffer.Length > 0)
        {
            process.WaitForExit();
            ThrowIfFailed(standardError.GetAwaiter().GetResult());
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await process.StandardOutput.BaseStream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read == 0 && buffer.Length > 0)
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            ThrowIfFailed(await standardError.ConfigureAwait(false));
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ThrowIfFailed(string stderr)
    {
        if (process.ExitCode != 0)
        {
            throw new VmPsException(
                "LayerDecompressionFailed",
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: zstd failed with exit code {process.ExitCode}: {stderr.Trim()}",
                layerDigest);
        }
    }
}
