using VmPs.Protocol.Files;

namespace VmPs.Core.Images.Layers;

/// <summary>Deletes a tree an image left on the host (staging, an orphaned image directory) without following any link in it.</summary>
internal static class StagingTree
{
    /// <summary>A new directory no other user can enter (0700 from its creation, never chmod after).</summary>
    public static void CreatePrivate(string path) =>
        UnixDirectoryCalls.MakeDirectory(UnixDirectoryCalls.CurrentDirectory, path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>Removes <paramref name="path"/> and everything below it; nothing when it does not exist.</summary>
    public static void Delete(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = UnixDirectoryCalls.Open(
            UnixDirectoryCalls.CurrentDirectory, Path.GetDirectoryName(full)!, UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly);
        UnixDirectoryCalls.RemoveTree(parent, Path.GetFileName(full));
    }
}
