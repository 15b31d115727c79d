using VmPs.Core.Access;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Ingress;
using VmPs.Core.Network;
using VmPs.Core.Network.Firewall;
using VmPs.Core.SshGateway;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Core;

/// <summary>The composition root: builds the managers of one installation once, sharing their parts.</summary>
public sealed class VmPsServices : IVmPsServices
{
    private readonly Lazy<NetworkManager> networks;
    private readonly VmManager vms;

    public VmPsServices(VmPsSettings settings)
        : this(settings, HypervisorRegistry.Default())
    {
    }

    public VmPsServices(VmPsSettings settings, HypervisorRegistry hypervisors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(hypervisors);
        Settings = settings;
        Paths = new VmPsPaths(settings.StateDirectory);
        Hypervisors = hypervisors;
        var database = new StateDatabase(Paths.StateDatabase);
        var host = new HostContext(cancellationToken => HostProbe.ProbeAsync(Paths, new HostProbeOptions { Hypervisors = hypervisors }, cancellationToken), hypervisors, database);
        Host = host;
        Images = new ImageManager(Paths, database, host.LvmThin);
        var users = new UserManager(database, RefreshSshGatewayAccountsAsync);
        Users = users;

        // Not cached on failure: a namespace created after a failed join is joined by the next command.
        networks = new Lazy<NetworkManager>(
            () => new NetworkManager(Paths, database, NetworkNamespace.Shared(settings.NetworkNamespace), FirewallSelection.Parse(settings.Firewall)),
            LazyThreadSafetyMode.PublicationOnly);
        var sshGateway = new SshGatewayManager(
            new SshGatewayLayout(Paths.SshGatewayDirectory),
            settings,
            async cancellationToken => new SshGatewayAccounts(
                await Vms.GetAllAsync(cancellationToken).ConfigureAwait(false),
                [.. (await users.GetAllAsync(cancellationToken).ConfigureAwait(false)).Select(user => user.Name)]),
            SshGatewayServer.DefaultSshd,
            SshGatewayProgram.Locate);
        vms = new VmManager(Paths, database, host, networks, new VmManagerSettings { VmNamesChanged = sshGateway.RefreshAccountsAsync });
        SshGateway = sshGateway;
        Ingress = new IngressManager(
            Paths,
            database,
            vms,
            () => NetworkNamespace.Shared(settings.NetworkNamespace),
            HostToolCatalog.DefaultSearchPath());
    }

    public VmPsSettings Settings { get; }

    public VmPsPaths Paths { get; }

    public IVmManager Vms => vms;

    public IImageManager Images { get; }

    public IVolumeManager Volumes => vms.Volumes;

    public IUserManager Users { get; }

    public IIngressManager Ingress { get; }

    public ISshGatewayManager SshGateway { get; }

    public INetworkManager Networks => networks.Value;

    public IHostContext Host { get; }

    public HypervisorRegistry Hypervisors { get; }

    private Task RefreshSshGatewayAccountsAsync(CancellationToken cancellationToken) => SshGateway.RefreshAccountsAsync(cancellationToken);
}
