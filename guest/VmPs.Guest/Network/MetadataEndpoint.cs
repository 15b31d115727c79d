using System.Net;
using System.Net.Sockets;
using VmPs.Guest.Init;
using VmPs.Guest.Native;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Metadata;

namespace VmPs.Guest.Network;

/// <summary>
/// The VM's EC2-compatible metadata service: an <see cref="ImdsServer"/> over the config disk's data on
/// 169.254.169.254:80 in a network namespace of its own, reached from the VM's namespace over a veth pair
/// (169.254.169.253/30 here). A listener in the VM's own namespace would take port 80 from its programs: Linux
/// refuses a wildcard bind of a port any one address holds, so the image's 'httpd -p 80' would fail.
/// Only this VM's processes can reach the pair, with or without a network adapter.
/// </summary>
internal static class MetadataEndpoint
{
    public const string KernelModule = "veth";
    private const string Link = "imds0";
    private const string Peer = "imds1";
    private const ushort Port = 80;
    private static readonly IPAddress LinkAddress = IPAddress.Parse("169.254.169.253");
    private static readonly IPAddress Address = IPAddress.Parse("169.254.169.254");
    private static readonly IPAddress Netmask = IPAddress.Parse("255.255.255.252");

    // Held for the life of the init; the server runs until power off.
    private static ImdsServer? server;
    private static ImdsService? service;

    /// <summary>Starts serving; a failure is logged and leaves the VM without IMDS rather than failing its boot.</summary>
    public static void Start(InstanceMetadata metadata)
    {
        var result = NativeMethods.ListenIsolated(
            Link, Peer, GuestNetworkSetup.ToInAddr(LinkAddress), GuestNetworkSetup.ToInAddr(Address), GuestNetworkSetup.ToInAddr(Netmask), Port, out var step);
        if (result < 0)
        {
            InitLog.Warning(InitLogPhases.Network, "the instance metadata service is not available", $"{Describe(step)} failed: {Libc.ErrorText(-result)}");
            return;
        }

        service = new ImdsService(metadata, TimeProvider.System);
        server = new ImdsServer(new Socket(new SafeSocketHandle(result, ownsHandle: true)), service);
        _ = server.RunAsync(message => InitLog.Warning(InitLogPhases.Network, "instance metadata service", message));
        InitLog.Info(InitLogPhases.Network, $"instance metadata service on http://{Address}/ (a network namespace of its own, over {Link})");
    }

    /// <summary>Serves the agent's MetadataApply request: the service answers with the host's new data from now on.</summary>
    public static async Task ApplyAsync(Frame frame, FrameWriter writer, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.MetadataApplyMessage);
        var running = service ?? throw new GuestException(ErrorCodes.Unsupported, "The instance metadata service is not running in this VM (see its init log).");
        running.Apply(request.Metadata);
        await writer.WriteAsync(FrameType.MetadataApplied, frame.Channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
    }

    private static string Describe(NativeMethods.IsolatedListenerStep step) => step switch
    {
        NativeMethods.IsolatedListenerStep.Namespace => "creating its network namespace (CONFIG_NET_NS)",
        NativeMethods.IsolatedListenerStep.Veth => $"creating the veth pair {Link}/{Peer} (CONFIG_VETH)",
        NativeMethods.IsolatedListenerStep.Address => $"bringing up lo and {Peer} ({Address}) in its namespace",
        NativeMethods.IsolatedListenerStep.Listen => $"listening on {Address}:{Port}",
        _ => $"giving {Link} the address {LinkAddress}",
    };
}
