namespace VmPs.Core.Agent;

public enum AgentTransport
{
    /// <summary>A Unix socket whose one stream is the guest's virtio-serial port (QEMU without vhost-vsock).</summary>
    VirtioSerialSocket,

    /// <summary>Cloud Hypervisor hybrid vsock: connect to the Unix socket, then "CONNECT port\n".</summary>
    HybridVsock,

    /// <summary>Kernel AF_VSOCK to the guest CID (QEMU with vhost-vsock).</summary>
    Vsock,
}

/// <summary>Where the guest agent is reachable from the host; stored with the VM so any session can connect.</summary>
public sealed record AgentEndpoint(AgentTransport Transport, string? SocketPath, uint Cid, uint Port)
{
    public const uint DefaultPort = 1024;

    public static AgentEndpoint VirtioSerial(string socketPath) => new(AgentTransport.VirtioSerialSocket, socketPath, 0, 0);

    public static AgentEndpoint Hybrid(string socketPath, uint port = DefaultPort) => new(AgentTransport.HybridVsock, socketPath, 0, port);

    public static AgentEndpoint KernelVsock(uint cid, uint port = DefaultPort) => new(AgentTransport.Vsock, null, cid, port);
}
