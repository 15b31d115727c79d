using System.Buffers.Binary;

namespace VmPs.Core.Network.Netlink;

/// <summary>A network interface as RTM_GETLINK reports it.</summary>
/// <summary>A network interface. HasCarrier: for a TAP, whether a process (the hypervisor) has it open.</summary>
internal sealed record LinkEntry(int Index, string Name, bool IsUp, int Mtu, int? MasterIndex, bool HasCarrier);

/// <summary>An IPv4 address on an interface.</summary>
internal sealed record AddressEntry(int InterfaceIndex, uint Address, int PrefixLength);

/// <summary>An IPv4 route with a destination prefix (any table).</summary>
internal sealed record RouteEntry(Ipv4Subnet Destination, int? OutputInterfaceIndex, byte Table);

/// <summary>
/// The rtnetlink requests VmPs needs: links (bridges, TAP settings), IPv4 addresses and routes.
/// Synchronous; call it on the network namespace's thread.
/// </summary>
internal sealed class RouteNetlink : IDisposable
{
    private const byte FamilyUnspecified = 0;
    private const byte FamilyIpv4 = 2;
    private const ushort NewLink = 16;
    private const ushort DeleteLink = 17;
    private const ushort GetLink = 18;
    private const ushort NewAddress = 20;
    private const ushort GetAddress = 22;
    private const ushort NewRoute = 24;
    private const ushort GetRoute = 26;
    private const ushort FlagCreate = 0x400;
    private const ushort FlagExclusive = 0x200;
    private const ushort AttributeInterfaceName = 3;
    private const ushort AttributeMtu = 4;
    private const ushort AttributeMaster = 10;
    private const ushort AttributeLinkInfo = 18;
    private const ushort AttributeCarrier = 33;
    private const ushort LinkInfoKind = 1;
    private const ushort LinkInfoSlaveKind = 4;
    private const ushort LinkInfoSlaveData = 5;
    private const ushort BridgePortIsolated = 33;
    private const ushort AddressLocal = 2;
    private const ushort AddressAddress = 1;
    private const ushort AddressBroadcast = 4;
    private const ushort RouteDestination = 1;
    private const ushort RouteOutputInterface = 4;
    private const ushort RouteTable = 15;
    private const uint InterfaceUp = 0x1;

    private readonly NetlinkSocket socket = new();

    public List<LinkEntry> GetLinks() =>
        socket.Query(new NetlinkMessage(GetLink, NetlinkSocket.DumpFlags).InterfaceHeader(FamilyUnspecified, 0), "list links")
            .Where(reply => reply.Type == NewLink)
            .Select(reply => ReadLink(reply.Payload))
            .ToList();

    /// <summary>The interface with this name, or null.</summary>
    public LinkEntry? FindLink(string name)
    {
        try
        {
            var replies = socket.Query(
                new NetlinkMessage(GetLink, NetlinkSocket.GetFlags).InterfaceHeader(FamilyUnspecified, 0).Attribute(AttributeInterfaceName, name),
                $"find link {name}");
            return replies.Where(reply => reply.Type == NewLink).Select(reply => ReadLink(reply.Payload)).FirstOrDefault();
        }
        catch (NetlinkException ex) when (ex.Errno == NetlinkException.NoSuchDevice)
        {
            return null;
        }
    }

    /// <summary>Creates a bridge (down); EEXIST when one of that name exists.</summary>
    public void CreateBridge(string name, int mtu) =>
        socket.Execute(
            new NetlinkMessage(NewLink, NetlinkSocket.RequestFlags(FlagCreate | FlagExclusive))
                .InterfaceHeader(FamilyUnspecified, 0)
                .Attribute(AttributeInterfaceName, name)
                .Attribute(AttributeMtu, (uint)mtu)
                .BeginNested(AttributeLinkInfo).Attribute(LinkInfoKind, "bridge").EndNested(),
            $"create bridge {name}");

    /// <summary>Sets what is given: MTU, master (a bridge's index), and brings the link up.</summary>
    public void Configure(LinkEntry link, int mtu, int? masterIndex = null)
    {
        var message = new NetlinkMessage(NewLink, NetlinkSocket.RequestFlags())
            .InterfaceHeader(FamilyUnspecified, link.Index, InterfaceUp, InterfaceUp)
            .Attribute(AttributeMtu, (uint)mtu);
        if (masterIndex is { } master)
        {
            message.Attribute(AttributeMaster, (uint)master);
        }

        socket.Execute(message, $"configure {link.Name}");
    }

    /// <summary>Marks a bridge port isolated: it then only talks to non-isolated ports (the bridge itself).</summary>
    public void SetBridgePortIsolated(LinkEntry port, bool isolated) =>
        socket.Execute(
            new NetlinkMessage(NewLink, NetlinkSocket.RequestFlags())
                .InterfaceHeader(FamilyUnspecified, port.Index)
                .BeginNested(AttributeLinkInfo)
                .Attribute(LinkInfoSlaveKind, "bridge")
                .BeginNested(LinkInfoSlaveData).Attribute(BridgePortIsolated, (byte)(isolated ? 1 : 0)).EndNested()
                .EndNested(),
            $"isolate {port.Name}");

    /// <summary>Every bridge port by interface index, with whether it is isolated (RTM_GETLINK on the AF_BRIDGE family reports port settings).</summary>
    public Dictionary<int, bool> IsolatedBridgePorts()
    {
        const byte familyBridge = 7;
        const ushort attributeProtocolInfo = 12;
        return socket.Query(
                new NetlinkMessage(GetLink, NetlinkSocket.DumpFlags).InterfaceHeader(familyBridge, 0),
                "list bridge ports")
            .Where(reply => reply.Type == NewLink)
            .ToDictionary(
                reply => BinaryPrimitives.ReadInt32LittleEndian(reply.Payload.Span[4..]),
                reply => new NetlinkAttributes(reply.Payload[16..]).Nested(attributeProtocolInfo)?.Byte(BridgePortIsolated) == 1);
    }

    /// <summary>Deletes the link; false when it did not exist.</summary>
    public bool DeleteLinkIfExists(string name)
    {
        try
        {
            socket.Execute(
                new NetlinkMessage(DeleteLink, NetlinkSocket.RequestFlags()).InterfaceHeader(FamilyUnspecified, 0).Attribute(AttributeInterfaceName, name),
                $"delete {name}");
            return true;
        }
        catch (NetlinkException ex) when (ex.Errno == NetlinkException.NoSuchDevice)
        {
            return false;
        }
    }

    public List<AddressEntry> GetAddresses() =>
        socket.Query(new NetlinkMessage(GetAddress, NetlinkSocket.DumpFlags).AddressHeader(FamilyIpv4, 0, 0), "list addresses")
            .Where(reply => reply.Type == NewAddress)
            .Select(reply =>
            {
                var span = reply.Payload.Span;
                var attributes = new NetlinkAttributes(reply.Payload[8..]);
                var address = attributes.Ipv4(AddressLocal) ?? attributes.Ipv4(AddressAddress) ?? 0;
                return new AddressEntry(BinaryPrimitives.ReadInt32LittleEndian(span[4..]), address, span[1]);
            })
            .ToList();

    public void AddAddress(LinkEntry link, uint address, Ipv4Subnet subnet) =>
        socket.Execute(
            new NetlinkMessage(NewAddress, NetlinkSocket.RequestFlags(FlagCreate | FlagExclusive))
                .AddressHeader(FamilyIpv4, (byte)subnet.PrefixLength, link.Index)
                .Attribute(AddressLocal, Ipv4Subnet.AddressBytes(address))
                .Attribute(AddressAddress, Ipv4Subnet.AddressBytes(address))
                .Attribute(AddressBroadcast, Ipv4Subnet.AddressBytes(subnet.Broadcast)),
            $"add {Ipv4Subnet.FormatAddress(address)}/{subnet.PrefixLength} to {link.Name}");

    /// <summary>IPv4 routes of every table except the local one (host addresses, not networks).</summary>
    public List<RouteEntry> GetRoutes()
    {
        const byte localTable = 255;
        return socket.Query(new NetlinkMessage(GetRoute, NetlinkSocket.DumpFlags).RouteHeader(FamilyIpv4), "list routes")
            .Where(reply => reply.Type == NewRoute)
            .Select(reply =>
            {
                var span = reply.Payload.Span;
                var attributes = new NetlinkAttributes(reply.Payload[12..]);
                var table = (byte)(attributes.UInt32(RouteTable) ?? span[4]);
                var destination = new Ipv4Subnet(attributes.Ipv4(RouteDestination) ?? 0, span[1]);
                return new RouteEntry(destination, (int?)attributes.UInt32(RouteOutputInterface), table);
            })
            .Where(route => route.Table != localTable)
            .ToList();
    }

    public void Dispose() => socket.Dispose();

    private static LinkEntry ReadLink(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        var index = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        var attributes = new NetlinkAttributes(payload[16..]);
        return new LinkEntry(
            index,
            attributes.String(AttributeInterfaceName) ?? string.Empty,
            (flags & InterfaceUp) != 0,
            (int)(attributes.UInt32(AttributeMtu) ?? 0),
            (int?)attributes.UInt32(AttributeMaster),
            attributes.Byte(AttributeCarrier) == 1);
    }
}
