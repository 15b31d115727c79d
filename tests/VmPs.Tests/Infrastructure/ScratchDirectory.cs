namespace VmPs.Tests.Infrastructure;

/// <summary>A fresh directory under /tmp (short, so Unix socket paths inside it fit), deleted on dispose.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        Path = Directory.CreateTempSubdirectory("vmps-test-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
