namespace VmPs.Core.Agent;

/// <summary>Picks the connector for where a VM's agent is reachable.</summary>
public static class AgentConnectors
{
    /// <param name="lockTimeout">How long to wait for a port another session holds (virtio-serial: one stream for all); null: the connector's default.</param>
    public static IAgentConnector For(AgentEndpoint endpoint, TimeSpan? lockTimeout = null) => endpoint.Transport switch
    {
        AgentTransport.VirtioSerialSocket => new AgentVirtioSerialConnector(RequireSocket(endpoint), lockTimeout),
        AgentTransport.Vsock => new AgentVsockConnector(endpoint.Cid, endpoint.Port),
        AgentTransport.HybridVsock => new HybridVsockConnector(RequireSocket(endpoint), endpoint.Port),
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint.Transport, "Unknown agent transport."),
    };

    private static string RequireSocket(AgentEndpoint endpoint) =>
        endpoint.SocketPath ?? throw new ArgumentException($"A {endpoint.Transport} agent endpoint needs a socket path.", nameof(endpoint));
}
