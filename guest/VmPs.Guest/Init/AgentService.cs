using System.Collections;
using System.Globalization;
using VmPs.Guest.Agent;
using VmPs.Guest.Network;
using VmPs.Guest.Processes;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Init;

/// <summary>
/// The agent as a systemd service (vmps-agent.service) in systemd mode: the same channel the init would serve,
/// from a plain process. Shutdown and reboot requests go to systemd, which stops the services and powers off.
/// </summary>
internal static class AgentService
{
    public const string Usage = "vmps-guest agent --virtio-port NAME | --vsock-port PORT [--metadata FILE]";

    /// <summary>The metadata file is the host's (the seed disk, or what the init wrote); its size is bounded all the same.</summary>
    private const int MaxMetadataBytes = 1 << 20;

    public static int Run(string option, string value, string? metadataPath)
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
        var context = new AgentContext(children, environment, "/", request => Native.Libc.kill(1, SystemdSignal(request))) { WritesMountUnits = true };
        if (metadataPath is not null)
        {
            StartMetadataService(metadataPath);
        }

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

    /// <summary>A VM without its metadata service still gets its agent: the failure is logged (the journal) and the agent serves on.</summary>
    private static void StartMetadataService(string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length > MaxMetadataBytes)
            {
                throw new IOException($"{path} is {bytes.Length} bytes: instance metadata is at most {MaxMetadataBytes}.");
            }

            MetadataEndpoint.Start(ProtocolJson.Deserialize(bytes, ProtocolJsonContext.Default.InstanceMetadata));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or ProtocolException)
        {
            Console.Error.WriteLine($"vmps agent: no instance metadata service: {error.Message}");
        }
    }

    /// <summary>
    /// systemd's real-time signals for PID 1: SIGRTMIN+4 starts poweroff.target and SIGRTMIN+5 reboot.target (the
    /// services stop in order); SIGRTMIN+14 and +15 power off and reboot at once, as `systemctl poweroff --force`
    /// does (no service is stopped; systemd-shutdown kills what runs, unmounts and syncs). systemd is a glibc
    /// program, whose SIGRTMIN is 34.
    /// </summary>
    private static int SystemdSignal(ShutdownMessage request) => 34 + (request.Reboot, request.Force) switch
    {
        (false, false) => 4,
        (true, false) => 5,
        (false, true) => 14,
        (true, true) => 15,
    };
}
