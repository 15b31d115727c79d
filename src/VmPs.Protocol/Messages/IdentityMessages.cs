using VmPs.Protocol.Config;

namespace VmPs.Protocol.Messages;

/// <summary>
/// Host to guest, after a restore: the identity this VM must have now. A fork comes back from another VM's memory
/// with that VM's hostname, machine-id, RNG state and MAC; a VM restored twice from one state would draw the same
/// random numbers twice. The agent sets the hostname, writes /etc/machine-id, mixes <see cref="Entropy"/> into the
/// kernel's pool and reseeds its CRNG, and, with <see cref="Network"/>, gives the interface that has
/// <see cref="PreviousMacAddress"/> (or already the new one) the new MAC and address.
/// </summary>
/// <param name="Entropy">Base64 of 32 to 512 random bytes from the host.</param>
public sealed record IdentityApplyMessage(string Hostname, string MachineId, string Entropy, string? PreviousMacAddress, GuestNetworkConfig? Network);

/// <summary>The guest's answer: the interface it configured, or null without a network.</summary>
public sealed record IdentityAppliedMessage(string? Interface);

/// <summary>The guest's answer to CpusOnline: how many vCPUs are online now.</summary>
public sealed record CpusOnlinedMessage(int Online);
