using System.Formats.Tar;
using System.Text;
using CsCheck;
using VmPs.Core;
using VmPs.Core.Images.Layers;
using VmPs.Core.Processes;
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
    private static readonly string[] Components = ["a", "b", "c", "..", ".", "outside", "etc"];
    private readonly ScratchDirectory scratch = new();
    private int cases;

    private static Gen<string> PathGen =>
        Gen.OneOf(Components).Array[1, 4].Select(parts => string.Join('/', parts));

    private static Gen<string> TargetGen =>
        Gen.OneOf(PathGen, PathGen.Select(path => "/" + path), Gen.OneOf(".", "..", "/", "../../outside", "a/a/../../outside"));

    private static Gen<PaxTarEntry> EntryGen => Gen.Int[0, 6].SelectMany(kind => kind switch
    {
        0 => PathGen.Select(path => new PaxTarEntry(TarEntryType.Directory, path)),
        1 => Gen.Select(PathGen, Gen.Int[0, 4095], (path, mode) => new PaxTarEntry(TarEntryType.RegularFile, path)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes("pwned")),
            Mode = (UnixFileMode)mode,
        }),
        2 => Gen.Select(PathGen, TargetGen, (path, target) => new PaxTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target }),
        3 => Gen.Select(PathGen, TargetGen, (path, target) => new PaxTarEntry(TarEntryType.HardLink, path) { LinkName = target }),
        4 => PathGen.Select(path => new PaxTarEntry(TarEntryType.CharacterDevice, path) { DeviceMajor = 1, DeviceMinor = 3, Mode = (UnixFileMode)0x1B6 }),
        5 => PathGen.Select(path => new PaxTarEntry(TarEntryType.BlockDevice, path) { DeviceMajor = 8, DeviceMinor = 0, Mode = (UnixFileMode)0x1B6 }),
        _ => PathGen.Select(path => new PaxTarEntry(TarEntryType.RegularFile, WhiteoutOf(path)) { DataStream = new MemoryStream() }),
    });

    [Fact]
    public void RandomAndMutatedTarStreamsAreReadOrRefusedWithinBoundedMemory()
    {
        var archives = Gen.Select(EntryGen.Array[1, 12], Gen.OneOf(TarEntryFormat.Pax, TarEntryFormat.Gnu, TarEntryFormat.Ustar), Write)
            .Where(bytes => bytes is not null)
            .Select(bytes => bytes!);
        var mutated = Gen.Select(archives, Gen.Int.Array[0, 8], Gen.Byte.Array[8], Gen.Int[0, 100], Mutate);

        mutated.Sample(
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
        var layers = EntryGen.Array[1, 10].Array[1, 3];
        var refused = 0;
        await layers.SampleAsync(
            async stack =>
            {
                var sandbox = Directory.CreateDirectory(scratch.Combine($"case-{cases}-{Guid.NewGuid():N}")).FullName;
                var root = Path.Combine(sandbox, "root");
                var outside = Path.Combine(sandbox, "outside");
                Directory.CreateDirectory(root);
                Directory.CreateDirectory(outside);
                await File.WriteAllTextAsync(Path.Combine(outside, "keep"), "untouched");
                var devices = new DeviceNodeTable();
                foreach (var entries in stack)
                {
                    var blob = Path.Combine(sandbox, $"layer-{Guid.NewGuid():N}.tar");
                    if (Write(entries, TarEntryFormat.Pax) is not { } tar)
                    {
                        return;
                    }

                    await File.WriteAllBytesAsync(blob, tar);
                    try
                    {
                        await LayerApplier.ApplyAsync(root, new(TestLayer.TarMediaType, "sha256:" + new string('0', 64), tar.Length), blob, devices, CancellationToken.None);
                    }
                    catch (VmPsException)
                    {
                        refused++;
                        break;
                    }
                }

                cases++;
                Assert.Equal(["keep"], Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName));
                Assert.Equal("untouched", await File.ReadAllTextAsync(Path.Combine(outside, "keep")));
                Assert.All(Directory.EnumerateFileSystemEntries(sandbox).Select(Path.GetFileName), name => Assert.True(name is "root" or "outside" || name!.StartsWith("layer-", StringComparison.Ordinal), name));
                var specials = await ExternalTool.RunCheckedAsync("find", [sandbox, "(", "-type", "b", "-o", "-type", "c", "-o", "-type", "s", ")"], CancellationToken.None);
                Assert.Equal(string.Empty, specials.StandardOutput);
                StagingTree.Delete(sandbox);
            },
            iter: 150,
            threads: 1);
        output.WriteLine($"{cases} random layer stacks applied ({refused} refused): nothing outside the root, no device node on the host");
    }

    public void Dispose() => scratch.Dispose();

    private static string WhiteoutOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? ".wh." + path : $"{path[..(slash + 1)]}.wh.{path[(slash + 1)..]}";
    }

    /// <summary>The archive System.Formats.Tar writes for the entries, or null for entries it refuses to write.</summary>
    private static byte[]? Write(PaxTarEntry[] entries, TarEntryFormat format)
    {
        try
        {
            var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, format, leaveOpen: true))
            {
                foreach (var entry in entries)
                {
                    entry.DataStream?.Seek(0, SeekOrigin.Begin);
                    writer.WriteEntry(entry);
                }
            }

            return tar.ToArray();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Overwrites bytes at random places (headers included) and cuts the archive at a random point.</summary>
    private static byte[] Mutate(byte[] archive, int[] positions, byte[] values, int keepPercent)
    {
        var copy = archive.ToArray();
        for (var i = 0; i < positions.Length; i++)
        {
            copy[(int)((uint)positions[i] % copy.Length)] = values[i];
        }

        return keepPercent >= 50 ? copy : copy[..(copy.Length * keepPercent / 50)];
    }

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
