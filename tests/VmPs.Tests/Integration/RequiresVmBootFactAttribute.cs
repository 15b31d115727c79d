using VmPs.Core.Boot;
using VmPs.Core.Processes;

namespace VmPs.Tests.Integration;

/// <summary>
/// A fact that boots a real VM under QEMU: it needs QEMU, the tools that build the disks, the
/// host's static busybox and a distro kernel with its modules. Missing ones are named in the skip.
/// </summary>
public sealed class RequiresVmBootFactAttribute : FactAttribute
{
    public RequiresVmBootFactAttribute()
        : this(needsRoot: false)
    {
    }

    /// <param name="needsRoot">The test does what only root may (losetup, mounts).</param>
    /// <param name="programs">What the test runs besides the boot's own tools.</param>
    public RequiresVmBootFactAttribute(bool needsRoot, params string[] programs)
    {
        var missing = new[] { "qemu-system-x86_64", "mkfs.erofs", "mkfs.ext4" }
            .Concat(programs)
            .Where(program => DetachedProcess.FindOnPath(program) is null)
            .ToList();
        if (!File.Exists("/bin/busybox"))
        {
            missing.Add("/bin/busybox (busybox-static)");
        }

        if (KernelLocator.FindDefault() is null)
        {
            missing.Add("a /boot/vmlinuz-* kernel with its modules (linux-image-cloud-amd64)");
        }

        if (missing.Count > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not installed";
        }
        else if (needsRoot && !Environment.IsPrivilegedProcess)
        {
            Skip = "skipped: needs root";
        }
    }
}
