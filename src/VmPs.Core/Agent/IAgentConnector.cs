namespace VmPs.Core.Agent;

/// <summary>Opens one byte stream to the guest agent over some transport.</summary>
public interface IAgentConnector
{
    /// <summary>Connects; throws when the transport is not reachable (the caller retries while the guest boots).</summary>
    Task<Stream> ConnectAsync(CancellationToken cancellationToken);
}
