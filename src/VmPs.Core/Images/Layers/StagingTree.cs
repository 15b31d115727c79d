using VmPs.Protocol.Files;

namespace VmPs.Core.Images.Layers;

/// <summary>Deletes a tree an image left on the host (staging, an orphaned image directory) without following any link in it.</summary>
internal static class StagingTree
{
    /// <summary>Removes <paramref name="path"/> and everything below it; nothing when it does not exist.</summary>
    public static void Delete(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = UnixDirectoryCalls.Open(
            UnixDirectoryCalls.CurrentDirectory, Path.GetDirectoryName(full)!, UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly);
        UnixDirectoryCalls.RemoveTree(parent, Path.GetFileName(full));
    }
}
