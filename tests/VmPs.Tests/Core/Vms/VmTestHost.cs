using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// VmManagers for tests that never boot: the host report describes this machine's real QEMU and
/// kernel without running the probe's KVM boot test once per temporary VMPS_HOME.
/// </summary>
internal static class VmTestHost
{
    public static HostReport QemuHost(KernelInfo? kernel)
    {
        var qemu = DetachedProcess.FindOnPath("qemu-system-x86_64");
        return new HostReport
        {
            Hypervisors =
            [
                new HypervisorAvailability(
                    HypervisorKind.CloudHypervisor, new HostTool("cloud-hypervisor", null, null, "cloud-hypervisor"), false, "not installed"),
                new HypervisorAvailability(
                    HypervisorKind.Qemu, new HostTool("qemu-system-x86_64", qemu, null, "qemu-system-x86"), qemu is not null, null),
            ],
            Kvm = new KvmStatus(false, false, "not probed in unit tests"),
            QemuAccelerator = Accelerator.Tcg,
            DefaultKernel = kernel,
            Tools = [],
            Firmware = FirmwareCatalog.Find(new FirmwareSearch()),
            VhostVsockAvailable = false,
            StateDirectory = "/nonexistent",
            Problems = [],
        };
    }

    /// <param name="network">The VmPs network namespace; null: $VMPS_NETNS's, else this process's.</param>
    public static VmManager Manager(VmPsPaths paths, KernelInfo? kernel = null, string? mkfsExt4 = null, NetworkNamespace? network = null) =>
        new(paths, new VmManagerSettings
        {
            ProbeHost = (_, _) => Task.FromResult(QemuHost(kernel ?? KernelLocator.FindDefault())),
            MkfsExt4 = mkfsExt4,
            NetworkNamespace = network,
        });

    /// <summary>The identity of a process that has exited, as a recorded hypervisor that died.</summary>
    public static async Task<ProcessIdentity> DeadProcessAsync()
    {
        using var process = System.Diagnostics.Process.Start("sleep", "60");
        var identity = new ProcessIdentity(process.Id, ProcessProbe.ReadStartTime(process.Id)!.Value);
        process.Kill();
        await process.WaitForExitAsync();
        return identity;
    }

    public static ProcessIdentity CurrentProcess() =>
        new(Environment.ProcessId, ProcessProbe.ReadStartTime(Environment.ProcessId)!.Value);
}
