using System.Collections;
using System.Globalization;
using VmPs.Guest.Agent;
using VmPs.Guest.Processes;
using VmPs.Protocol.Config;

namespace VmPs.Guest.Init;

/// <summary>
/// The agent as a systemd service (vmps-agent.service) in systemd mode: the same channel the init would serve,
/// from a plain process. Shutdown and reboot requests go to systemd, which stops the services and powers off.
/// </summary>
internal static class AgentService
{
    public const string Usage = "vmps-guest agent --virtio-port NAME | --vsock-port PORT";

    public static int Run(string option, string value)
    {
        AgentChannelConfig channel;
        switch (option)
        {
            case "--virtio-port":
                channel = new AgentChannelConfig { Kind = AgentChannelKind.VirtioSerial, PortName = value };
                break;
            case "--vsock-port" when uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port):
                channel = new AgentChannelConfig { Kind = AgentChannelKind.Vsock, VsockPort = port };
                break;
            default:
                Console.Error.WriteLine($"usage: {Usage}");
                return 2;
        }

        var children = new ChildProcesses();
        children.StartReaper();
        var environment = EnvironmentBlock.WithDefault(
            Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().Select(entry => $"{entry.Key}={entry.Value}").ToArray(),
            "PATH",
            ExecutableResolver.DefaultPath);
        var context = new AgentContext(children, environment, "/", reboot =>
            Native.Libc.kill(1, reboot ? Native.Libc.SystemdRebootSignal : Native.Libc.SystemdPoweroffSignal));
        try
        {
            AgentChannels.Serve(channel, context);
        }
        catch (Exception error) when (error is InitException or IOException)
        {
            Console.Error.WriteLine($"vmps agent: {error.Message}");
            return 1;
        }

        Thread.Sleep(Timeout.Infinite);
        return 0;
    }
}
