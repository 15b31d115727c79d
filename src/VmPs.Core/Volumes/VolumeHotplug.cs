using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;

namespace VmPs.Core.Volumes;

/// <summary>
/// Attaching a volume to a running VM and detaching it again: the hypervisor hot-plugs the disk and the agent mounts
/// it at the attachment's path; detaching unmounts first, then unplugs. A step that fails undoes the ones before it.
/// </summary>
internal static class VolumeHotplug
{
    public static async Task PlugAsync(IHypervisorDriver driver, VmRecord vm, VolumeRecord volume, VolumeAttachmentRecord attachment, CancellationToken cancellationToken)
    {
        var instance = vm.Instance ?? throw VmErrors.NotRunning(vm.Name, vm.State);
        if (volume.DiskFormat == DiskImageFormat.Qcow2)
        {
            driver.Capabilities.Require(HypervisorFeatures.Qcow2Disks, vm.Name);
        }

        await driver.AttachDiskAsync(instance, volume.Serial, volume.Disk(attachment), cancellationToken).ConfigureAwait(false);
        try
        {
            await using var agent = await SharedAgentConnections.AcquireAsync(vm, lockTimeout: null, cancellationToken).ConfigureAwait(false);
            await agent.Client.MountVolumeAsync(volume.GuestVolume(attachment), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await driver.DetachDiskAsync(instance, volume.Serial, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Unmounts in the guest (refused with GuestVolumeBusy while files are open there, unless <paramref name="force"/>,
    /// which unmounts lazily) and unplugs the disk. If the unplug fails the volume is mounted again.
    /// </summary>
    public static async Task UnplugAsync(IHypervisorDriver driver, VmRecord vm, VolumeRecord volume, VolumeAttachmentRecord attachment, bool force, CancellationToken cancellationToken)
    {
        var instance = vm.Instance ?? throw VmErrors.NotRunning(vm.Name, vm.State);
        await using var agent = await SharedAgentConnections.AcquireAsync(vm, lockTimeout: null, cancellationToken).ConfigureAwait(false);
        try
        {
            await agent.Client.UnmountVolumeAsync(attachment.Path, lazy: force, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.GuestVolumeBusy)
        {
            throw VolumeErrors.OpenInGuest(volume.Name, vm.Name, attachment.Path);
        }

        try
        {
            await driver.DetachDiskAsync(instance, volume.Serial, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception unplugFailure)
        {
            await RemountAfterFailedUnplugAsync(agent.Client, volume, attachment, unplugFailure).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Mounts the volume again where the unplug failed. The guest may still have let the disk go (an unplug the
    /// hypervisor gave up waiting for can finish later), so a remount that finds no disk must not hide why the unplug
    /// failed: its own error is attached to the unplug's.
    /// </summary>
    private static async Task RemountAfterFailedUnplugAsync(AgentClient agent, VolumeRecord volume, VolumeAttachmentRecord attachment, Exception unplugFailure)
    {
        try
        {
            await agent.MountVolumeAsync(volume.GuestVolume(attachment), CancellationToken.None).ConfigureAwait(false);
        }
        catch (VmPsException remountFailure)
        {
            unplugFailure.Data["RemountFailure"] = remountFailure.Message;
        }
    }
}
