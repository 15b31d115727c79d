namespace VmPs.Core.Hypervisors;

/// <summary>One host directory share of a launch: the virtio-fs device tagged <paramref name="Tag"/>, served from <paramref name="HostPath"/>.</summary>
/// <param name="Tag">The virtio-fs tag the guest mounts by (at most 36 bytes).</param>
/// <param name="HostPath">The absolute host directory; nothing outside it is reachable from the guest.</param>
/// <param name="GuestPath">Where the guest init mounts it.</param>
/// <param name="ReadOnly">Writes are refused on the host (a read-only bind under virtiofsd) and the guest mounts it read-only.</param>
public sealed record ShareSpec(string Tag, string HostPath, string GuestPath, bool ReadOnly);
