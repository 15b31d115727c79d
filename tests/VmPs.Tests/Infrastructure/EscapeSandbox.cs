using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A destination directory with a sibling "outside" holding one file, for tests that feed hostile trees to a confined
/// writer: afterwards nothing beside the destination may have appeared, the outside file must be untouched, and no
/// device node, FIFO or socket may exist anywhere in the sandbox.
/// </summary>
public sealed class EscapeSandbox
{
    private const string Sentinel = "untouched";

    private EscapeSandbox(string path, string destinationName)
    {
        Path = path;
        Destination = System.IO.Path.Combine(path, destinationName);
        Outside = System.IO.Path.Combine(path, "outside");
    }

    public string Path { get; }

    public string Destination { get; }

    public string Outside { get; }

    public static EscapeSandbox Create(ScratchDirectory scratch, string destinationName)
    {
        var sandbox = new EscapeSandbox(Directory.CreateDirectory(scratch.Combine($"case-{Guid.NewGuid():N}")).FullName, destinationName);
        Directory.CreateDirectory(sandbox.Destination);
        Directory.CreateDirectory(sandbox.Outside);
        File.WriteAllText(System.IO.Path.Combine(sandbox.Outside, "keep"), Sentinel);
        return sandbox;
    }

    /// <summary>
    /// Asserts the invariant; <paramref name="allowedBeside"/> names what the test itself put beside the destination,
    /// <paramref name="fifosAllowed"/> lets an image's FIFOs be staged (they are harmless in a private tree).
    /// </summary>
    public async Task AssertNothingOutsideAsync(Func<string, bool>? allowedBeside = null, bool fifosAllowed = false)
    {
        Assert.Equal(["keep"], Directory.EnumerateFileSystemEntries(Outside).Select(System.IO.Path.GetFileName));
        Assert.Equal(Sentinel, await File.ReadAllTextAsync(System.IO.Path.Combine(Outside, "keep")));
        var destinationName = System.IO.Path.GetFileName(Destination);
        Assert.All(
            Directory.EnumerateFileSystemEntries(Path).Select(System.IO.Path.GetFileName),
            name => Assert.True(name == destinationName || name == "outside" || allowedBeside?.Invoke(name!) == true, $"'{name}' appeared beside the destination"));
        string[] types = fifosAllowed ? ["-type", "b", "-o", "-type", "c", "-o", "-type", "s"] : ["-type", "b", "-o", "-type", "c", "-o", "-type", "p", "-o", "-type", "s"];
        var specials = await ExternalTool.RunCheckedAsync("find", [Path, "(", .. types, ")"], CancellationToken.None);
        Assert.Equal(string.Empty, specials.StandardOutput);
    }
}
