using System.Net;
using VmPs.Guest.Init;
using VmPs.Guest.Native;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Metadata;

namespace VmPs.Guest.Network;

/// <summary>
/// The VM's EC2-compatible metadata service: 169.254.169.254 as a second address of lo (so it answers from inside this
/// VM only, with or without a network adapter) and an <see cref="ImdsServer"/> on port 80 over the config disk's data.
/// </summary>
internal static class MetadataEndpoint
{
    private const string Alias = "lo:imds";
    private const int LoopbackMtu = 65536;
    private static readonly IPAddress Address = IPAddress.Parse("169.254.169.254");

    // Held for the life of the init; the server runs until power off.
    private static ImdsServer? server;

    /// <summary>Starts serving; a failure is logged and leaves the VM without IMDS rather than failing its boot.</summary>
    public static void Start(InstanceMetadata metadata)
    {
        // The alias shares lo's MTU; the ioctl sets it on lo itself, to lo's own.
        var result = NativeMethods.SetIpv4(Alias, GuestNetworkSetup.ToInAddr(Address), uint.MaxValue, LoopbackMtu);
        if (result < 0)
        {
            InitLog.Warning(InitLogPhases.Network, "the instance metadata service is not available", $"adding {Address} to lo failed: {Libc.ErrorText(-result)}");
            return;
        }

        try
        {
            server = new ImdsServer(new IPEndPoint(Address, 80), new ImdsService(metadata, TimeProvider.System));
        }
        catch (System.Net.Sockets.SocketException error)
        {
            InitLog.Warning(InitLogPhases.Network, "the instance metadata service is not available", error.Message);
            return;
        }

        _ = server.RunAsync(message => InitLog.Warning(InitLogPhases.Network, "instance metadata service", message));
        InitLog.Info(InitLogPhases.Network, $"instance metadata service on http://{Address}/");
    }
}
