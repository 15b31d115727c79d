using System.Globalization;
using System.Net;
using System.Net.Sockets;
using VmPs.Core.Network;

namespace VmPs.Core.Vms;

/// <summary>Reads (and writes) New-Vm -Publish values: "8080:80", "127.0.0.1:8080:80", each with an optional "/tcp" or "/udp".</summary>
public static class PublishedPortParser
{
    private const string Formats = "HOSTPORT:VMPORT or HOSTADDRESS:HOSTPORT:VMPORT, optionally followed by /tcp or /udp (for example 8080:80, 127.0.0.1:8080:80/tcp, 5353:53/udp)";

    public static PortMappingOptions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (ports, protocol) = SplitProtocol(text.Trim(), text);
        var parts = ports.Split(':');
        return parts.Length switch
        {
            2 => new PortMappingOptions { HostPort = Port(parts[0], "host", text), VmPort = Port(parts[1], "VM", text), Protocol = protocol },
            3 => new PortMappingOptions
            {
                HostAddress = HostAddress(parts[0], text),
                HostPort = Port(parts[1], "host", text),
                VmPort = Port(parts[2], "VM", text),
                Protocol = protocol,
            },
            _ => throw Invalid(text, $"'{text}' is not a published port."),
        };
    }

    /// <summary>The text <see cref="Parse"/> reads back into the same mapping ("/udp" only for UDP).</summary>
    public static string Format(PortMappingOptions port)
    {
        ArgumentNullException.ThrowIfNull(port);
        var address = port.HostAddress is null ? "" : port.HostAddress + ":";
        var protocol = port.Protocol == PortProtocol.Udp ? "/udp" : "";
        return string.Create(CultureInfo.InvariantCulture, $"{address}{port.HostPort}:{port.VmPort}{protocol}");
    }

    private static (string Ports, PortProtocol Protocol) SplitProtocol(string value, string text)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (value, PortProtocol.Tcp);
        }

        var protocol = value[(slash + 1)..].ToLowerInvariant() switch
        {
            "tcp" => PortProtocol.Tcp,
            "udp" => PortProtocol.Udp,
            var other => throw Invalid(text, $"'{other}' in '{text}' is not a protocol: use tcp or udp."),
        };
        return (value[..slash], protocol);
    }

    private static int Port(string value, string side, string text) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw Invalid(text, $"'{value}' in '{text}' is not a {side} port: ports are 1 to 65535.");

    private static string HostAddress(string value, string text) =>
        IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetwork
            ? address.ToString()
            : throw Invalid(text, $"'{value}' in '{text}' is not a host IPv4 address.");

    private static VmPsException Invalid(string text, string problem) =>
        new(VmPsErrorIds.InvalidPublishedPort, VmPsErrorKind.InvalidArgument, $"{problem} Expected {Formats}.", text);
}
