using VmPs.Core.Access;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Ingress;
using VmPs.Core.Network;
using VmPs.Core.SshGateway;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Core;

/// <summary>
/// Everything a command works with, for one installation (<see cref="VmPsSettings"/>): the managers
/// share one state database, one host context and one network namespace. The module keeps one per
/// installation for the session and hands it to every cmdlet; cmdlet tests hand them fakes.
/// </summary>
public interface IVmPsServices
{
    VmPsPaths Paths { get; }

    IVmManager Vms { get; }

    IImageManager Images { get; }

    IVolumeManager Volumes { get; }

    /// <summary>VmPs users, their keys, tokens, quotas and VM grants.</summary>
    IUserManager Users { get; }

    /// <summary>The HTTPS ingress: routes to VMs served by VmPs's own Caddy.</summary>
    IIngressManager Ingress { get; }

    /// <summary>The SSH gateway: VmPs's own sshd, through which users reach their VMs.</summary>
    ISshGatewayManager SshGateway { get; }

    /// <summary>Made on first use: it joins $VMPS_NETNS, and most commands never touch a network.</summary>
    INetworkManager Networks { get; }

    IHostContext Host { get; }

    /// <summary>The hypervisor drivers VMs are started with.</summary>
    HypervisorRegistry Hypervisors { get; }
}
