using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// ImageManager.AddAsync end to end against a real registry (docker-registry on 127.0.0.1) with images these
/// tests build: real blob cache, real layer application, real mkfs.erofs, real SQLite.
/// </summary>
public sealed class ImagePipelineTests : IClassFixture<OpenRegistry>, IDisposable
{
    private readonly OpenRegistry registry;
    private readonly TemporaryVmPsHome home = new();

    public ImagePipelineTests(OpenRegistry registry)
    {
        this.registry = registry;
    }

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "fsck.erofs", "busybox")]
    public async Task PulledImageIsRegisteredWithItsConfigAndItsLayersApplied()
    {
        var pushed = await PushTestImageAsync("team/app", "v1");

        var image = await Images().AddAsync(Source("team/app", "v1"), new ImageAddOptions(), null, CancellationToken.None);

        Assert.Equal("app:v1", image.Name);
        Assert.Equal($"{registry.Host}/team/app:v1", image.Reference);
        Assert.Equal(pushed.Digest, image.Digest);
        Assert.Equal("linux/amd64", image.Platform);
        Assert.Equal(ImageFormat.Erofs, image.Format);
        Assert.Equal(ImageInitMode.Exec, image.InitMode);
        Assert.Equal(["/bin/sleep"], image.Config.Entrypoint);
        Assert.Equal(["86400"], image.Config.Cmd);
        Assert.Equal(["PATH=/bin", "GREETING=hello"], image.Config.Env);
        Assert.Equal("/srv", image.Config.WorkingDirectory);
        Assert.Equal("root", image.Config.User);
        Assert.Equal(["8080/tcp"], image.Config.ExposedPorts);
        Assert.Equal("pipeline-test", image.Config.Labels["org.opencontainers.image.title"]);
        Assert.Equal("SIGINT", image.Config.StopSignal);
        Assert.Equal(new FileInfo(image.RootfsPath).Length, image.SizeBytes);
        Assert.Equal(image.Id, (await new ImageManager(home.Paths).GetAsync("APP:v1", CancellationToken.None)).Id);

        var extracted = Path.Combine(home.Paths.Root, "extracted");
        await ExternalTool.RunCheckedAsync("fsck.erofs", [$"--extract={extracted}", image.RootfsPath], CancellationToken.None);
        Assert.Equal(PipelineTestImages.Layer2Content, File.ReadAllText(Path.Combine(extracted, PipelineTestImages.Layer2File)));
        Assert.False(File.Exists(Path.Combine(extracted, PipelineTestImages.WhitedOutFile)));
        Assert.False(File.Exists(Path.Combine(extracted, "etc/.wh.removed-by-layer-2")));
        Assert.Equal("busybox", new FileInfo(Path.Combine(extracted, "bin/sh")).LinkTarget);
        Assert.Equal(File.ReadAllBytes("/bin/busybox"), File.ReadAllBytes(Path.Combine(extracted, "bin/busybox")));
        Assert.Equal([Path.GetDirectoryName(image.RootfsPath)!], ImageDirectories());
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "busybox")]
    public async Task ASecondPullOfTheSameLayersIsServedFromTheBlobCache()
    {
        var pushed = await PushTestImageAsync("team/cached", "v1");
        await Images().AddAsync(Source("team/cached", "v1"), new ImageAddOptions(), null, CancellationToken.None);

        // With the layer and config blobs gone from the registry, only the cache can supply them.
        foreach (var blob in pushed.Layers.Append(pushed.Config))
        {
            DeleteFromRegistry(blob.Descriptor.Digest);
        }

        var copy = await Images().AddAsync(
            Source("team/cached", "v1"), new ImageAddOptions { Name = "cached-copy", Format = ImageFormat.Ext4 }, null, CancellationToken.None);

        Assert.Equal(pushed.Digest, copy.Digest);
        Assert.Equal(ImageFormat.Ext4, copy.Format);
        Assert.EndsWith("rootfs.ext4", copy.RootfsPath);
        Assert.Equal(["cached-copy", "cached:v1"], (await Images().GetAllAsync(CancellationToken.None)).Select(i => i.Name));
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "busybox")]
    public async Task SessionsAddingTheSameImageAtOnceEndWithOneImageAndOneCopyOfEachBlob()
    {
        var pushed = await PushTestImageAsync("team/race", "v1");

        var added = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            new ImageManager(home.Paths).AddAsync(Source("team/race", "v1"), new ImageAddOptions(), null, CancellationToken.None))));

        Assert.Single(added.Select(image => image.Id).Distinct());
        Assert.Single(await Images().GetAllAsync(CancellationToken.None));
        Assert.Single(ImageDirectories());
        var blobs = Directory.GetFiles(home.Paths.BlobCacheDirectory, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order();
        Assert.Equal(pushed.Layers.Append(pushed.Config).Select(blob => blob.Descriptor.Digest["sha256:".Length..]).Order(), blobs);
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "busybox")]
    public async Task AnotherImageUnderATakenNameIsRefusedUnlessForced()
    {
        await PushTestImageAsync("team/named", "v1");
        await registry.PushImageAsync("team/other", "v1", [PipelineTestImages.BusyboxLayer()], new OciImageConfig { Cmd = ["/sbin/init"] });
        var first = await Images().AddAsync(Source("team/named", "v1"), new ImageAddOptions { Name = "web" }, null, CancellationToken.None);

        var again = await Images().AddAsync(Source("team/named", "v1"), new ImageAddOptions { Name = "web" }, null, CancellationToken.None);
        var taken = await Assert.ThrowsAsync<VmPsException>(() =>
            Images().AddAsync(Source("team/other", "v1"), new ImageAddOptions { Name = "web" }, null, CancellationToken.None));
        var replaced = await Images().AddAsync(Source("team/other", "v1"), new ImageAddOptions { Name = "web", Force = true }, null, CancellationToken.None);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal("ImageNameInUse", taken.ErrorId);
        Assert.Equal(ImageInitMode.Systemd, replaced.InitMode);
        Assert.Equal(replaced.Id, (await Images().GetAsync("web", CancellationToken.None)).Id);
        Assert.Equal([Path.GetDirectoryName(replaced.RootfsPath)!], ImageDirectories());
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "busybox")]
    public async Task AHostileLayerFailsThePullAndLeavesNoImageNoStagingAndNothingOutsideTheRoot()
    {
        var escapeTarget = Path.Combine(home.Paths.ImagesDirectory, "..", "escaped.txt");
        var hostile = await registry.PushImageAsync(
            "team/hostile", "v1", [PipelineTestImages.BusyboxLayer(), PipelineTestImages.TraversalLayer("srv/../../../../escaped.txt")]);

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            Images().AddAsync(Source("team/hostile", "v1"), new ImageAddOptions(), null, CancellationToken.None));

        Assert.Equal("LayerEntryEscapesRoot", error.ErrorId);
        Assert.Contains(hostile.Layers[1].Descriptor.Digest, error.Message);
        Assert.Empty(await Images().GetAllAsync(CancellationToken.None));
        Assert.Empty(ImageDirectories());
        Assert.Empty(Directory.GetFileSystemEntries(home.Paths.ImagesDirectory, ".pull-*"));
        Assert.False(File.Exists(escapeTarget));
        Assert.False(File.Exists(Path.Combine(home.Paths.Root, "escaped.txt")));
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs", "busybox")]
    public async Task StagingLeftByASessionThatDiedMidPullIsDeletedByTheNextAdd()
    {
        await PushTestImageAsync("team/after-crash", "v1");
        var abandoned = Directory.CreateDirectory(Path.Combine(home.Paths.ImagesDirectory, ".pull-0123456789abcdef", "rootfs", "bin"));
        File.WriteAllText(abandoned.Parent!.Parent!.FullName + ".lock", "");

        await Images().AddAsync(Source("team/after-crash", "v1"), new ImageAddOptions(), null, CancellationToken.None);

        Assert.Empty(Directory.GetFileSystemEntries(home.Paths.ImagesDirectory, ".pull-*"));
    }

    private ImageManager Images() => new(home.Paths);

    private RegistryImageSource Source(string repository, string tag) =>
        new(registry.Reference(repository, tag), null, OciPlatform.Default, insecure: false);

    private Task<TestImage> PushTestImageAsync(string repository, string tag) =>
        registry.PushImageAsync(repository, tag, [PipelineTestImages.BusyboxLayer(), PipelineTestImages.SecondLayer()], PipelineTestImages.Config);

    /// <summary>The images/ID directories (image files), without lock files and staging.</summary>
    private string[] ImageDirectories() =>
        Directory.Exists(home.Paths.ImagesDirectory)
            ? Directory.GetDirectories(home.Paths.ImagesDirectory).Where(path => !Path.GetFileName(path).StartsWith('.')).ToArray()
            : [];

    private void DeleteFromRegistry(string digest)
    {
        var hex = digest["sha256:".Length..];
        Directory.Delete(Path.Combine(registry.StorageDirectory, "docker/registry/v2/blobs/sha256", hex[..2], hex), recursive: true);
    }
}
