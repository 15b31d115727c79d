using System.Runtime.InteropServices;
using CsCheck;
using VmPs.Core.Images.Layers;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Native;
using VmPs.Tests.Protocol.Archives;
using Xunit.Abstractions;

namespace VmPs.Tests.Protocol.Files;

/// <summary>
/// The confined writer of guest-supplied trees under random and mutated tar streams (<see cref="RandomTar"/>), random
/// options and a destination that may already hold links pointing out. After every case, whether the stream was
/// written or refused: nothing outside the destination changed, no device node, FIFO or socket exists, no entry is
/// setuid or setgid (nor sticky, nor above the umask, nor another user's, by default), and every link the tree holds
/// resolves, by the kernel, inside what was written. Memory is bounded by the hostile-archive child (TarTreeExtractorBombTests).
/// </summary>
public sealed class TarTreeExtractorPropertyTests(ITestOutputHelper output) : IDisposable
{
    private const int SetIdBits = 0xC00;
    private const int StickyBit = 0x200;
    private readonly ScratchDirectory scratch = new();

    private static Gen<TarExtractOptions> Options { get; } = Gen.Select(
        Gen.OneOf<string?>(null, "a"),
        Gen.Bool,
        Gen.Bool,
        Gen.OneOf(Gen.Const(ExtractedModes.Invoker), Gen.Const(ExtractedModes.OwnerAndModeWithoutSetId)),
        (root, tree, overwrite, modes) => new TarExtractOptions { RootName = root, AllowTree = tree, Overwrite = overwrite, Modes = modes });

    /// <summary>What the destination holds beforehand: nothing, or a link "a" (the name streams use) pointing out or nowhere.</summary>
    private static Gen<string?> PlantedLink { get; } = Gen.OneOf<string?>(null, null, null, "../outside", "/", "b/../../outside", "nowhere");

    [Fact]
    public async Task Random_guest_trees_write_nothing_outside_the_destination_and_no_special_bits()
    {
        var tried = 0;
        var refused = new Dictionary<string, int>();
        var umask = (int)UnixDirectoryCalls.CurrentUmask();
        await Gen.Select(Gen.OneOf(RandomTar.Archive, RandomTar.Mutated, RandomTar.LinkGraph, RandomTar.LinkGraph), Options, PlantedLink).SampleAsync(
            async sample =>
            {
                var (archive, options, planted) = sample;
                var sandbox = EscapeSandbox.Create(scratch, "dest");
                if (planted is not null)
                {
                    File.CreateSymbolicLink(Path.Combine(sandbox.Destination, "a"), planted);
                }

                using (var destination = ConfinedDirectory.Open(sandbox.Destination, Confinement.Beneath))
                {
                    try
                    {
                        await TarTreeExtractor.ExtractAsync(new MemoryStream(archive), destination, options, CancellationToken.None);
                    }
                    catch (FileOperationException error)
                    {
                        refused[error.Code] = refused.GetValueOrDefault(error.Code) + 1;
                    }
                }

                tried++;
                await sandbox.AssertNothingOutsideAsync();
                AssertWrittenEntries(sandbox.Destination, options, planted is not null, umask);
                StagingTree.Delete(sandbox.Path);
            },
            iter: 2000,
            threads: 1);
        var refusals = refused.Values.Sum();
        output.WriteLine($"hostile guest trees: {tried} random, mutated or link-graph tar streams tried, {tried - refusals} written, {refusals} refused " +
            $"({string.Join(", ", refused.OrderByDescending(pair => pair.Value).Select(pair => $"{pair.Key} {pair.Value}"))}); nothing outside the destination, no special bits");
        Assert.True(refusals > 0 && refusals < tried, $"{refusals} of {tried} refused: the generator should give both outcomes");
    }

    public void Dispose() => scratch.Dispose();

    private static void AssertWrittenEntries(string destination, TarExtractOptions options, bool planted, int umask)
    {
        var tree = options.RootName is null ? destination : Path.Combine(destination, options.RootName);
        var invoker = UnixFileSystem.GetStatus(destination).Uid;
        foreach (var path in EntriesBelow(destination))
        {
            if (planted && path == Path.Combine(destination, "a"))
            {
                continue;
            }

            var status = UnixFileSystem.GetStatus(path);
            Assert.True((status.Mode & SetIdBits) == 0, $"'{path}' is setuid or setgid ({status.Mode:x})");
            if (status.Kind == FileKind.SymbolicLink)
            {
                var resolved = RealPath(path);
                Assert.True(resolved is null || resolved == tree || resolved.StartsWith(tree + "/", StringComparison.Ordinal), $"'{path}' leads to '{resolved}', outside '{tree}'");
            }
            else if (options.Modes == ExtractedModes.Invoker)
            {
                Assert.True((status.Mode & StickyBit) == 0, $"'{path}' is sticky");
                Assert.True((status.Mode & umask) == 0, $"'{path}' has mode {status.Mode:x}, above the umask {umask:x}");
                Assert.True(status.Uid == invoker, $"'{path}' belongs to {status.Uid}, not to the invoking user");
            }
        }
    }

    /// <summary>Every entry below <paramref name="directory"/>, found by lstat: links to directories are not entered.</summary>
    private static IEnumerable<string> EntriesBelow(string directory)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            yield return path;
            if (UnixFileSystem.GetStatus(path).Kind == FileKind.Directory)
            {
                foreach (var below in EntriesBelow(path))
                {
                    yield return below;
                }
            }
        }
    }

    /// <summary>realpath(3): where the kernel's lookup of <paramref name="path"/> ends, following every link; null when nowhere.</summary>
    private static string? RealPath(string path)
    {
        var resolved = TestLibc.realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            TestLibc.free(resolved);
        }
    }
}
