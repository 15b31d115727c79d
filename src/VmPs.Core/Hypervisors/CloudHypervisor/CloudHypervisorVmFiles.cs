namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>The files one cloud-hypervisor process uses inside its VM directory.</summary>
public sealed record CloudHypervisorVmFiles(string ApiSocket, string EventMonitor, string VsockSocket)
{
    public static CloudHypervisorVmFiles In(string vmDirectory) => new(
        Path.Combine(vmDirectory, "ch.sock"),
        Path.Combine(vmDirectory, "events.json"),
        Path.Combine(vmDirectory, "vsock.sock"));

    /// <summary>Removes the sockets of a process that is gone; a stale vsock socket would make the next boot fail.</summary>
    public void DeleteSockets()
    {
        File.Delete(ApiSocket);
        File.Delete(ApiSocket + ".lock");
        File.Delete(VsockSocket);
    }
}
