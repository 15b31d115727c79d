using VmPs.Guest.Native;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>Mounts the VM's host directory shares (virtio-fs, found by tag) at their paths, before anything runs in the final root.</summary>
internal static class GuestShares
{
    public static void Mount(IReadOnlyList<GuestShareConfig> shares)
    {
        foreach (var share in shares)
        {
            if (GuestVolumes.PathProblem(share.Path) is { } problem)
            {
                throw new InitException(problem);
            }

            SystemCalls.Mount(share.Tag, share.Path, "virtiofs", share.ReadOnly ? Libc.MS_RDONLY : 0);
            InitLog.Info(InitLogPhases.Disks, $"mounted the host directory share {share.Tag}{(share.ReadOnly ? " (read-only)" : "")} at {share.Path}");
        }
    }
}
