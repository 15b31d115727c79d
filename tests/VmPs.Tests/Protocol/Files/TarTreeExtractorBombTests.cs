using System.Globalization;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Protocol.Archives;
using Xunit.Abstractions;

namespace VmPs.Tests.Protocol.Files;

/// <summary>
/// Oversized and malformed guest tar streams, each extracted as Copy-VmFile -FromVm extracts one (the requested
/// entry "t" below a destination) in a child process with a capped heap whose peak RSS is measured per archive:
/// each is refused with its code (or written, where it is merely large), within bounded memory, nothing outside.
/// </summary>
public sealed class TarTreeExtractorBombTests(ITestOutputHelper output) : IDisposable
{
    private const long PeakBoundKiB = 300 * 1024;
    private readonly ScratchDirectory scratch = new();

    [Fact]
    public async Task Hostile_guest_archives_are_refused_within_bounded_memory_with_nothing_outside()
    {
        var archives = new Dictionary<string, string>
        {
            ["pax-header-1GiB"] = await SparseAsync(RawTar.Header("PaxHeaders/t", 'x', 1L << 30), 1L << 30),
            ["gnu-long-name-1GiB"] = await SparseAsync(RawTar.Header("././@LongLink", 'L', 1L << 30), 1L << 30),
            ["file-claiming-65GiB"] = await SparseAsync(RawTar.Header("t", '0', 65L << 30), 0),
            ["file-cut-short"] = await SparseAsync(RawTar.Header("t", '0', 1L << 30), 1L << 20),
            ["dangling-links-10001"] = await WriteAsync(DanglingLinks(10_001)),
            ["random-bytes-16MiB"] = await WriteAsync(RandomBytes(16 << 20)),
            ["pax-records-just-under-1MiB"] = await WriteAsync(RawTar.Concat(ManyPaxRecords(), RawTar.File("t", "ok"), RawTar.End)),
            ["nested-directories-2000"] = await WriteAsync(NestedDirectories(2_000)),
            ["files-5000"] = await WriteAsync(ManyFiles(5_000)),
        };
        var outcomes = new Dictionary<string, string>
        {
            ["pax-header-1GiB"] = FileErrorCodes.InvalidArchive,
            ["gnu-long-name-1GiB"] = FileErrorCodes.InvalidArchive,
            ["file-claiming-65GiB"] = FileErrorCodes.InvalidArchive,
            ["file-cut-short"] = FileErrorCodes.InvalidArchive,
            ["dangling-links-10001"] = FileErrorCodes.InvalidArchive,
            ["random-bytes-16MiB"] = FileErrorCodes.InvalidArchive,
            ["pax-records-just-under-1MiB"] = "ok",
            ["nested-directories-2000"] = "ok",
            ["files-5000"] = "ok",
        };
        var sandboxes = archives.ToDictionary(pair => pair.Key, _ => EscapeSandbox.Create(scratch, "dest"));
        var list = scratch.Combine("list");
        await File.WriteAllLinesAsync(list, archives.Select(pair => $"{pair.Key}\t{pair.Value}\t{sandboxes[pair.Key].Destination}"));

        var (stdout, exitCode, stderr) = await TestChildProcess.RunAsync(new Dictionary<string, string> { [TreeExtractChild.ListVariable] = list });

        var results = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).ToDictionary(parts => parts[0], parts => (Result: parts[1], PeakKiB: long.Parse(parts[2], CultureInfo.InvariantCulture)));
        Assert.True(results.Count == archives.Count, $"the child died (exit code {exitCode}): {stdout}{stderr}");
        foreach (var (name, (result, peakKiB)) in results)
        {
            output.WriteLine($"{name}: {result}, peak RSS {peakKiB / 1024} MiB");
            Assert.Equal(outcomes[name], result);
            Assert.True(peakKiB < PeakBoundKiB, $"{name}: peak RSS {peakKiB / 1024} MiB");
            await sandboxes[name].AssertNothingOutsideAsync();
        }

        var refused = results.Values.Count(outcome => outcome.Result != "ok");
        output.WriteLine($"hostile guest archives: {results.Count} tried, {refused} refused, nothing outside, peak RSS at most {results.Values.Max(outcome => outcome.PeakKiB) / 1024} MiB");
        Assert.False(Directory.Exists(Path.Combine(sandboxes["file-cut-short"].Destination, "t")), "a cut-short file must leave nothing");
    }

    public void Dispose() => scratch.Dispose();

    private static byte[] DanglingLinks(int count) => RawTar.Concat(
        [RawTar.Header("t/", '5', 0), .. Enumerable.Range(0, count).Select(index => RawTar.Header($"t/l{index}", '2', 0, linkName: $"nowhere/{index}")), RawTar.End]);

    private static byte[] NestedDirectories(int depth) => RawTar.Concat(
        [.. Enumerable.Range(1, depth).Select(level => Pax("t" + string.Concat(Enumerable.Repeat("/d", level - 1)), '5')), RawTar.End]);

    private static byte[] ManyFiles(int count) => RawTar.Concat(
        [RawTar.Header("t/", '5', 0), .. Enumerable.Range(0, count).Select(index => RawTar.File($"t/f{index}", "x")), RawTar.End]);

    /// <summary>An entry whose name is in a PAX header, for names longer than ustar's 100 bytes.</summary>
    private static byte[] Pax(string name, char type) => RawTar.Concat(RawTar.Pax(RawTar.Record("path", name)), RawTar.Header("long", type, 0));

    private static byte[] ManyPaxRecords()
    {
        var records = new List<byte[]>();
        var total = 0;
        for (var index = 0; total < (1 << 20) - 64; index++)
        {
            var record = RawTar.Record($"VMPS.x{index}", "y");
            records.Add(record);
            total += record.Length;
        }

        return RawTar.Pax([.. records.Take(records.Count - 1)]);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(10).NextBytes(bytes);
        return bytes;
    }

    private async Task<string> WriteAsync(byte[] archive)
    {
        var path = scratch.Combine($"archive-{Guid.NewGuid():N}.tar");
        await File.WriteAllBytesAsync(path, archive);
        return path;
    }

    /// <summary>A header followed by <paramref name="length"/> bytes of zeros that take no disk.</summary>
    private async Task<string> SparseAsync(byte[] header, long length)
    {
        var path = scratch.Combine($"archive-{Guid.NewGuid():N}.tar");
        await using var file = File.Create(path);
        await file.WriteAsync(header);
        file.SetLength(header.Length + length);
        return path;
    }
}

/// <summary>The child process of <see cref="TarTreeExtractorBombTests"/> (run from StartupHook).</summary>
public static class TreeExtractChild
{
    public const string ListVariable = "VMPS_TEST_EXTRACT_LIST";

    /// <summary>In the child: extracts each listed archive as entry "t" below its destination; prints "NAME RESULT PEAK-KIB".</summary>
    public static void RunIfRequested()
    {
        var list = Environment.GetEnvironmentVariable(ListVariable);
        if (list is null)
        {
            return;
        }

        foreach (var line in File.ReadAllLines(list))
        {
            var fields = line.Split('\t');
            TestChildProcess.ResetPeak();
            string result;
            try
            {
                using var destination = ConfinedDirectory.Open(fields[2], Confinement.Beneath);
                using var archive = File.OpenRead(fields[1]);
                TarTreeExtractor.ExtractAsync(archive, destination, new TarExtractOptions { RootName = "t" }, CancellationToken.None).GetAwaiter().GetResult();
                result = "ok";
            }
            catch (FileOperationException ex)
            {
                result = ex.Code;
            }
            catch (Exception ex)
            {
                result = "crash:" + ex.GetType().Name;
            }

            Console.WriteLine($"{fields[0]} {result} {TestChildProcess.PeakKiB()}");
        }

        Environment.Exit(0);
    }
}
