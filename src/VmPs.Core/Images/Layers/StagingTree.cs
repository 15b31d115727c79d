namespace VmPs.Core.Images.Layers;

/// <summary>Deletes a tree an image left on the host (staging, an orphaned image directory) without following any link in it.</summary>
internal static class StagingTree
{
    /// <summary>Removes <paramref name="path"/> and everything below it; nothing when it does not exist.</summary>
    public static void Delete(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var parentFd = LinuxFileSystem.OpenDirectory(LinuxFileSystem.AtFdCwd, Path.GetDirectoryName(full)!);
        try
        {
            LayerRoot.Remove(parentFd, Path.GetFileName(full));
        }
        finally
        {
            LinuxFileSystem.Close(parentFd);
        }
    }
}
