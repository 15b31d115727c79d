using VmPs.Protocol.Metadata;

namespace VmPs.Protocol.Messages;

/// <summary>
/// Host to guest: what the VM's metadata service serves from now on, in place of the config disk's copy. Sent when
/// Set-Vm changes a running VM's metadata options and after a restore or fork, whose memory holds another boot's data
/// (a fork would otherwise answer with its source's instance-id and address). Issued tokens stay valid, as on EC2.
/// </summary>
public sealed record MetadataApplyMessage(InstanceMetadata Metadata);
