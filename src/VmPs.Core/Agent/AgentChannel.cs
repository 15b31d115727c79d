using VmPs.Protocol.Framing;

namespace VmPs.Core.Agent;

/// <summary>Receives the frames of one request channel from the client's read loop.</summary>
internal interface IAgentChannel
{
    void OnFrame(Frame frame);

    void OnConnectionLost(VmPsException error);
}

/// <summary>A request answered by a single frame (ping, shutdown).</summary>
internal sealed class AgentReplyChannel : IAgentChannel
{
    private readonly TaskCompletionSource<Frame> reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<Frame> Reply => reply.Task;

    public void OnFrame(Frame frame) => reply.TrySetResult(frame);

    public void OnConnectionLost(VmPsException error) => reply.TrySetException(error);
}
