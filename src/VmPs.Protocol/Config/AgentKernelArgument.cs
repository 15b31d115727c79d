using System.Globalization;

namespace VmPs.Protocol.Config;

/// <summary>
/// The kernel command line argument that names an exec-mode VM's agent channel ("vmps.agent=virtio-serial:NAME" or
/// "vmps.agent=vsock:PORT"), so that the init can answer the host before it reads the config disk: parsing the
/// config is the first JSON the guest runs, which costs a fifth of a second under emulation, and nothing the
/// handshake needs comes from it. The config disk still names the channel for the agent service of systemd mode.
/// </summary>
public static class AgentKernelArgument
{
    public const string Name = "vmps.agent";

    private const string VirtioSerialKind = "virtio-serial";
    private const string VsockKind = "vsock";
    private const int MaxPortNameLength = 64;

    /// <summary>The argument for <paramref name="channel"/>.</summary>
    public static string Format(AgentChannelConfig channel) => channel.Kind switch
    {
        AgentChannelKind.Vsock => $"{Name}={VsockKind}:{channel.VsockPort.ToString(CultureInfo.InvariantCulture)}",
        _ when IsPortName(channel.PortName) => $"{Name}={VirtioSerialKind}:{channel.PortName}",
        _ => throw new ArgumentException($"'{channel.PortName}' is not a virtio-serial port name the kernel command line can carry.", nameof(channel)),
    };

    /// <summary>The channel the command line names; null when it names none or one this guest cannot use.</summary>
    public static AgentChannelConfig? Find(string kernelCommandLine)
    {
        var value = Arguments(kernelCommandLine).LastOrDefault(argument => argument.StartsWith(Name + "=", StringComparison.Ordinal))?[(Name.Length + 1)..];
        return value?.Split(':', 2) switch
        {
            [VirtioSerialKind, var port] when IsPortName(port) => new AgentChannelConfig { Kind = AgentChannelKind.VirtioSerial, PortName = port },
            [VsockKind, var text] when uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) => new AgentChannelConfig { Kind = AgentChannelKind.Vsock, VsockPort = port },
            _ => null,
        };
    }

    /// <summary>
    /// <paramref name="kernelArguments"/> without this argument: what a saved state's hardware depends on. The channel
    /// is read once at boot, and a restored guest is long past it.
    /// </summary>
    public static string Without(string kernelArguments) =>
        string.Join(' ', Arguments(kernelArguments).Where(argument => !argument.StartsWith(Name + "=", StringComparison.Ordinal)));

    private static IEnumerable<string> Arguments(string commandLine) => commandLine.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static bool IsPortName(string name) =>
        name.Length is > 0 and <= MaxPortNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');
}
