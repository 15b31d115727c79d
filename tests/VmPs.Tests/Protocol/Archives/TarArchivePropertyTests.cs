using System.Formats.Tar;
using CsCheck;
using VmPs.Core;
using VmPs.Core.Images.Layers;
using VmPs.Protocol.Archives;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Core.Images.Layers;
using Xunit.Abstractions;

namespace VmPs.Tests.Protocol.Archives;

/// <summary>
/// Random tar streams, random names and random link graphs (CsCheck 5.0.1 generates and shrinks them). After every
/// case: the reader either read the archive or refused it with a TarArchiveException, within bounded memory; a layer
/// either applied or was refused with a VmPsException, and nothing outside the root changed and no device node exists.
/// </summary>
public sealed class TarArchivePropertyTests(ITestOutputHelper output) : IDisposable
{
    private const long AllocationBound = 8L << 20;
    private readonly ScratchDirectory scratch = new();
    private int cases;

    [Fact]
    public void RandomAndMutatedTarStreamsAreReadOrRefusedWithinBoundedMemory()
    {
        RandomTar.Mutated.Sample(
            archive =>
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                ReadAll(archive);
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                cases++;
                return allocated < AllocationBound;
            },
            iter: 3000);
        output.WriteLine($"{cases} random or mutated tar streams read or refused, each within {AllocationBound >> 20} MiB of allocation");
    }

    [Fact]
    public async Task RandomLayersNeverWriteOutsideTheRootNorCreateADevice()
    {
        var layers = RandomTar.Entry.Array[1, 10].Array[1, 3];
        var refused = 0;
        await layers.SampleAsync(
            async stack =>
            {
                var sandbox = EscapeSandbox.Create(scratch, "root");
                var devices = new DeviceNodeTable();
                foreach (var entries in stack)
                {
                    var blob = Path.Combine(sandbox.Path, $"layer-{Guid.NewGuid():N}.tar");
                    if (RandomTar.Write(entries, TarEntryFormat.Pax) is not { } tar)
                    {
                        return;
                    }

                    await File.WriteAllBytesAsync(blob, tar);
                    try
                    {
                        await LayerApplier.ApplyAsync(sandbox.Destination, new(TestLayer.TarMediaType, "sha256:" + new string('0', 64), tar.Length), blob, devices, CancellationToken.None);
                    }
                    catch (VmPsException)
                    {
                        refused++;
                        break;
                    }
                }

                cases++;
                await sandbox.AssertNothingOutsideAsync(name => name.StartsWith("layer-", StringComparison.Ordinal), fifosAllowed: true);
                StagingTree.Delete(sandbox.Path);
            },
            iter: 150,
            threads: 1);
        output.WriteLine($"{cases} random layer stacks applied ({refused} refused): nothing outside the root, no device node on the host");
    }

    public void Dispose() => scratch.Dispose();

    private static void ReadAll(byte[] archive)
    {
        using var reader = new TarArchiveReader(new MemoryStream(archive));
        try
        {
            while (reader.ReadNextAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } entry)
            {
                entry.Data.CopyTo(Stream.Null);
            }
        }
        catch (TarArchiveException)
        {
            // A refusal is a correct outcome; any other exception fails the property.
        }
    }
}
