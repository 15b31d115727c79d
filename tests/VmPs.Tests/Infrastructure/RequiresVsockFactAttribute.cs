using System.Runtime.InteropServices;

namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that needs the kernel's AF_VSOCK socket family (not a VM, just the address family).</summary>
public sealed partial class RequiresVsockFactAttribute : FactAttribute
{
    public RequiresVsockFactAttribute()
    {
        var fd = socket(40, 1, 0);
        if (fd < 0)
        {
            Skip = "skipped: the kernel has no AF_VSOCK (vsock module not available)";
            return;
        }

        close(fd);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
