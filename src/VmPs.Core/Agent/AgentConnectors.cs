namespace VmPs.Core.Agent;

/// <summary>Picks the connector for where a VM's agent is reachable.</summary>
public static class AgentConnectors
{
    public static IAgentConnector For(AgentEndpoint endpoint) => endpoint.Transport switch
    {
        AgentTransport.VirtioSerialSocket => new AgentVirtioSerialConnector(RequireSocket(endpoint)),
        AgentTransport.Vsock => new AgentVsockConnector(endpoint.Cid, endpoint.Port),
        AgentTransport.HybridVsock => new HybridVsockConnector(RequireSocket(endpoint), endpoint.Port),
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint.Transport, "Unknown agent transport."),
    };

    private static string RequireSocket(AgentEndpoint endpoint) =>
        endpoint.SocketPath ?? throw new ArgumentException($"A {endpoint.Transport} agent endpoint needs a socket path.", nameof(endpoint));
}
