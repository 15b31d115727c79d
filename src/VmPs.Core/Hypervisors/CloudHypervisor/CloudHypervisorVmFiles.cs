namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>The files one cloud-hypervisor process uses inside its VM directory.</summary>
/// <param name="StopRequest">
/// Written by VmPs as it asks the VMM to shut down: the event monitor file's length then. CH records a shutdown it was
/// asked for with the same events as a guest's power-off, so what it wrote after this is VmPs's stop.
/// </param>
public sealed record CloudHypervisorVmFiles(string ApiSocket, string EventMonitor, string VsockSocket, string StopRequest)
{
    public static CloudHypervisorVmFiles In(string vmDirectory) => new(
        Path.Combine(vmDirectory, "ch.sock"),
        Path.Combine(vmDirectory, "events.json"),
        Path.Combine(vmDirectory, "vsock.sock"),
        Path.Combine(vmDirectory, "events.stop"));

    /// <summary>Removes the sockets of a process that is gone; a stale vsock socket would make the next boot fail.</summary>
    public void DeleteSockets()
    {
        File.Delete(ApiSocket);
        File.Delete(ApiSocket + ".lock");
        File.Delete(VsockSocket);
    }
}
