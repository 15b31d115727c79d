using System.Net;
using System.Net.Sockets;

namespace VmPs.Core.Network;

/// <summary>
/// Checks that no host process listens on a port about to be published (its DNAT would steal the
/// process's traffic) and that a given host address is the host's. Binds a socket, so it must
/// run on the network namespace's thread.
/// </summary>
internal static class HostPortProbe
{
    public static void EnsureFree(PortMappingRecord mapping)
    {
        var address = mapping.HostAddress is { } host ? new IPAddress(Ipv4Subnet.AddressBytes(host)) : IPAddress.Any;
        using var socket = mapping.Protocol == PortProtocol.Tcp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(address, mapping.HostPort));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw NetworkErrors.PortInUse(mapping.HostPort, mapping.Protocol, "in use by a process on the host");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new VmPsException(
                VmPsErrorIds.HostAddressNotLocal,
                VmPsErrorKind.InvalidArgument,
                $"{address} is not an address of this host.",
                address.ToString())
            {
                RecommendedAction = "Give one of the host's addresses, or leave -HostAddress out to publish on all of them.",
            };
        }
    }
}
