using VmPs.Core.Hypervisors;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>A scratch VM directory (short, so socket paths stay under the 108-byte limit) and a launch spec for it.</summary>
internal sealed class ChTestVm : IDisposable
{
    public ChTestVm()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("vmps-ch-").FullName;
    }

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public VmLaunchSpec Spec(
        string kernel = "/boot/vmlinuz-test",
        string initrd = "/var/cache/vmps/initrd-test.img",
        string kernelArguments = "quiet vmps.config=vdc",
        IReadOnlyList<DiskSpec>? disks = null) => new()
    {
        VmName = "web",
        VmDirectory = Directory,
        KernelPath = kernel,
        InitrdPath = initrd,
        KernelArguments = kernelArguments,
        Cpus = 2,
        MemoryMiB = 512,
        Disks = disks ??
        [
            new DiskSpec("/var/lib/vmps/images/busybox.erofs", ReadOnly: true, Serial: "vmps-rootfs"),
            new DiskSpec(PathOf("overlay.ext4"), ReadOnly: false, Serial: "vmps-overlay"),
            new DiskSpec(PathOf("data.qcow2"), ReadOnly: false, Serial: "vmps-vol-data", DiskImageFormat.Qcow2),
        ],
        ConsoleLogPath = PathOf("console.log"),
        HypervisorLogPath = PathOf("hypervisor.log"),
        VsockCid = 7,
    };

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
