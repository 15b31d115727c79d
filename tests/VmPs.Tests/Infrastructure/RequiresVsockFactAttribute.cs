using VmPs.Core.Native;

namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that needs the kernel's AF_VSOCK socket family (not a VM, just the address family).</summary>
public sealed class RequiresVsockFactAttribute : FactAttribute
{
    public RequiresVsockFactAttribute()
    {
        var fd = Libc.socket(40, 1, 0);
        if (fd < 0)
        {
            Skip = "skipped: the kernel has no AF_VSOCK (vsock module not available)";
            return;
        }

        Libc.close(fd);
    }
}
