using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.State;

/// <summary>Rows for store tests: an image row (the rootfs file is not needed by the store) and VM settings.</summary>
internal static class StoreFixtures
{
    public const string ImageId = "img0";

    public static async Task<StateDatabase> DatabaseWithImageAsync(string path)
    {
        var database = new StateDatabase(path);
        await new ImageStore(database).InsertAsync(
            new ImageInfo
            {
                Id = ImageId,
                Name = "test-image",
                Reference = "builtin:test",
                Digest = "sha256:00",
                Format = ImageFormat.Erofs,
                RootfsPath = "/nonexistent/rootfs.erofs",
                SizeBytes = 1,
                InitMode = ImageInitMode.Exec,
                Config = new ImageConfig { Cmd = ["/bin/sh"], Env = ["PATH=/bin"] },
                CreatedAt = DateTimeOffset.UtcNow,
            },
            CancellationToken.None);
        return database;
    }

    public static NewVm Vm(string name) =>
        new(Guid.NewGuid(), name, ImageId, 1, 128, HypervisorKind.Qemu, "/boot/vmlinuz", 1, DateTimeOffset.UtcNow);
}
