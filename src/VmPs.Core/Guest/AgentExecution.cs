using System.Threading.Channels;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Guest;

/// <summary>
/// A process running in the guest: its output as it arrives, its stdin, signals, and how it ended.
/// <see cref="Output"/> completes when the process has ended and all its output was received.
/// </summary>
public sealed class AgentExecution : IAgentChannel
{
    private readonly AgentClient _client;
    private readonly uint _channel;
    private readonly TaskCompletionSource<int> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AgentExitStatus> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<AgentOutputChunk> _output = Channel.CreateUnbounded<AgentOutputChunk>(new UnboundedChannelOptions { SingleWriter = true });

    internal AgentExecution(AgentClient client, uint channel)
    {
        _client = client;
        _channel = channel;
    }

    /// <summary>The process id in the guest.</summary>
    public int Pid => _started.Task.IsCompletedSuccessfully ? _started.Task.Result : 0;

    public ChannelReader<AgentOutputChunk> Output => _output.Reader;

    public Task<AgentExitStatus> Completion => _completion.Task;

    internal Task<int> Started => _started.Task;

    public ValueTask WriteStandardInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _client.SendDataAsync(FrameType.Stdin, _channel, data, cancellationToken);

    public ValueTask CloseStandardInputAsync(CancellationToken cancellationToken) =>
        _client.SendAsync(FrameType.StdinClose, _channel, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>
    /// Sends a signal (for example 15 for SIGTERM) to the process, or with <paramref name="processGroup"/> to
    /// every process it started too; ignored once the exec has ended.
    /// </summary>
    public ValueTask SignalAsync(int signal, bool processGroup, CancellationToken cancellationToken) =>
        Completion.IsCompleted
            ? ValueTask.CompletedTask
            : _client.SendJsonAsync(FrameType.Signal, _channel, new SignalMessage(signal, processGroup), ProtocolJsonContext.Default.SignalMessage, cancellationToken);

    void IAgentChannel.OnFrame(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.ExecStarted:
                _started.TrySetResult(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecStartedMessage).Pid);
                break;
            case FrameType.Stdout:
                _output.Writer.TryWrite(new AgentOutputChunk(AgentOutputStream.Stdout, frame.Payload));
                break;
            case FrameType.Stderr:
                _output.Writer.TryWrite(new AgentOutputChunk(AgentOutputStream.Stderr, frame.Payload));
                break;
            case FrameType.ExecExit:
                var exit = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecExitMessage);
                var status = exit.Signal is { } signal ? new AgentExitStatus(128 + signal, signal) : new AgentExitStatus(exit.ExitCode ?? -1, null);
                Finish(status, null);
                break;
            case FrameType.Error when !_started.Task.IsCompleted:
                var error = AgentErrors.FromAgent(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ErrorMessage));
                _started.TrySetException(error);
                Finish(null, error);
                break;
        }
    }

    void IAgentChannel.OnConnectionLost(VmPsException error)
    {
        _started.TrySetException(error);
        Finish(null, error);
    }

    private void Finish(AgentExitStatus? status, VmPsException? error)
    {
        _client.Release(_channel);
        _output.Writer.TryComplete(error);
        if (status is not null)
        {
            _completion.TrySetResult(status);
        }
        else
        {
            _completion.TrySetException(error!);
        }
    }
}
