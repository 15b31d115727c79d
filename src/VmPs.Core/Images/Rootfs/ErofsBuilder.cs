using VmPs.Core.Host;
using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Core.Images.Rootfs;

/// <summary>How mkfs.erofs records owners and times.</summary>
internal enum ErofsMetadata
{
    /// <summary>Owners, modes, times and xattrs exactly as in the tree (pulled images).</summary>
    Preserve,

    /// <summary>Every file root-owned, time 0: a reproducible image of a tree VmPs assembled itself.</summary>
    Normalize,
}

/// <summary>
/// Packs a directory tree into an erofs image with mkfs.erofs, lz4-compressed when the tool supports it
/// (lz4 rather than lz4hc: conversion time matters more than the few percent lz4hc saves).
/// </summary>
internal static class ErofsBuilder
{
    private static readonly SemaphoreSlim ProbeGate = new(1, 1);
    private static bool? supportsLz4;

    public static async Task BuildAsync(string sourceDirectory, string outputPath, ErofsMetadata metadata, CancellationToken cancellationToken)
    {
        var mkfs = HostTools.Require(HostToolCatalog.MkfsErofs);
        List<string> arguments = metadata == ErofsMetadata.Normalize ? ["--quiet", "--all-root", "-T0"] : ["--quiet", "--preserve-mtime"];
        if (await SupportsLz4Async(mkfs, cancellationToken).ConfigureAwait(false))
        {
            arguments.Add("-zlz4");
        }

        arguments.Add(outputPath);
        arguments.Add(sourceDirectory);
        await ExternalTool.RunCheckedAsync(mkfs, arguments, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>mkfs.erofs lists its compressors in --help ("Available compressors are: lz4hc, lz4").</summary>
    private static async Task<bool> SupportsLz4Async(string mkfs, CancellationToken cancellationToken)
    {
        await ProbeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (supportsLz4 is null)
            {
                var help = await ExternalTool.RunAsync(mkfs, ["--help"], cancellationToken).ConfigureAwait(false);
                var compressors = (help.StandardOutput + help.StandardError)
                    .Split('\n')
                    .FirstOrDefault(line => line.StartsWith("Available compressors", StringComparison.OrdinalIgnoreCase));
                supportsLz4 = compressors?[(compressors.IndexOf(':') + 1)..]
                    .Split(',', StringSplitOptions.TrimEntries)
                    .Contains("lz4") ?? false;
            }

            return supportsLz4.Value;
        }
        finally
        {
            ProbeGate.Release();
        }
    }
}
