using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Guest.Init;

/// <summary>Images built by the guest tests from a root filesystem directory, and waiting for a VM to power itself off.</summary>
internal static class GuestTestImages
{
    private static readonly TimeSpan PoweroffDeadline = TimeSpan.FromSeconds(90);

    /// <summary>Packs <paramref name="rootfs"/> as one layer, pushes it to the test registry and adds it to the store like New-VmImage does.</summary>
    public static async Task<ImageInfo> ImportAsync(
        RegistryFixture registry, TemporaryVmPsHome home, string rootfs, string name, OciImageConfig config, ImageInitMode? initMode = null)
    {
        var layer = rootfs + ".tar";
        await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, "-cf", layer, "."], CancellationToken.None);
        try
        {
            return await ImportLayerAsync(registry, home, layer, name, config, initMode);
        }
        finally
        {
            File.Delete(layer);
        }
    }

    /// <summary>Pushes the layer tar to the test registry and adds it to the store like New-VmImage does.</summary>
    public static async Task<ImageInfo> ImportLayerAsync(
        RegistryFixture registry, TemporaryVmPsHome home, string layer, string name, OciImageConfig config, ImageInitMode? initMode = null)
    {
        await registry.PushImageAsync(name, "latest", [await File.ReadAllBytesAsync(layer)], config);
        return await new ImageManager(home.Paths).AddAsync(
            new RegistryImageSource(registry.Reference(name, "latest"), null, OciPlatform.Default, insecure: false),
            new ImageAddOptions { Name = name, InitMode = initMode },
            null,
            CancellationToken.None);
    }

    /// <summary>A root filesystem with the host's static busybox as /bin/busybox and its applets linked in /bin.</summary>
    public static async Task CreateBusyboxRootAsync(string rootfs)
    {
        foreach (var directory in new[] { "bin", "etc", "dev", "proc", "sys", "tmp", "run", "root" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, directory));
        }

        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        var applets = (await ExternalTool.RunCheckedAsync("/bin/busybox", ["--list"], CancellationToken.None)).StandardOutput;
        foreach (var applet in applets.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(applet => applet != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }
    }

    /// <summary>Polls Get-Vm until the VM is no longer active (the guest powered itself off), with a bounded deadline.</summary>
    public static async Task<VmInfo> WaitUntilStoppedAsync(VmManager manager, string name)
    {
        var deadline = DateTime.UtcNow + PoweroffDeadline;
        while (true)
        {
            var vm = await manager.GetAsync(name, CancellationToken.None);
            if (vm.State is not (VmState.Starting or VmState.Running or VmState.Stopping) || DateTime.UtcNow > deadline)
            {
                return vm;
            }

            await Task.Delay(100);
        }
    }

    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
