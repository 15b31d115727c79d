using System.Diagnostics;
using VmPs.Guest.Agent;
using VmPs.Protocol.Config;

namespace VmPs.Guest.Init;

/// <summary>Starts serving the agent on the channel the config names; used by the init (exec mode) and the agent service (systemd mode).</summary>
internal static class AgentChannels
{
    private static readonly TimeSpan PortTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Returns once the agent listens; what it listens on, for the log.</summary>
    public static string Serve(AgentChannelConfig channel, AgentContext context)
    {
        switch (channel.Kind)
        {
            case AgentChannelKind.Vsock:
                AgentTransports.ServeVsock(channel.VsockPort, context);
                return $"vsock port {channel.VsockPort}";
            default:
                var device = WaitForVirtioPort(channel.PortName);
                AgentTransports.ServeVirtioSerial(device, context);
                return $"virtio-serial port {channel.PortName} ({device})";
        }
    }

    private static string WaitForVirtioPort(string name)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (AgentTransports.FindVirtioPort(name) is { } device)
            {
                return device;
            }

            if (clock.Elapsed > PortTimeout)
            {
                throw new InitException($"No virtio-serial port named {name} appeared within {PortTimeout.TotalSeconds:0} s.");
            }

            Thread.Sleep(2);
        }
    }
}
