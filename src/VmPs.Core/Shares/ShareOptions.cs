namespace VmPs.Core.Shares;

/// <summary>A host directory the guest sees at <paramref name="GuestPath"/> through virtio-fs (New-Vm -Share).</summary>
/// <param name="HostPath">An absolute host directory; only it and what lies below it are reachable from the guest.</param>
/// <param name="GuestPath">The absolute, normalised guest path the guest init mounts the share at.</param>
/// <param name="ReadOnly">Whether neither the guest mount nor virtiofsd allow writes.</param>
public sealed record ShareOptions(string HostPath, string GuestPath, bool ReadOnly)
{
    /// <summary>HOST:GUEST, with :ro when read-only: New-Vm's -Share syntax, as Get-Vm's Shares show it.</summary>
    public override string ToString() => $"{HostPath}:{GuestPath}{(ReadOnly ? ":ro" : "")}";
}
