using VmPs.Core.Boot;
using VmPs.Core.Host;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A fact that needs the host's default guest kernel (a /boot/vmlinuz-VERSION with
/// /lib/modules/VERSION, readable by this user), e.g. from linux-image-cloud-amd64.
/// </summary>
public sealed class RequiresGuestKernelFactAttribute : FactAttribute
{
    public RequiresGuestKernelFactAttribute(params string[] programs)
    {
        var kernel = KernelLocator.FindDefault();
        var missingPrograms = programs.Where(program => VmPs.Core.Processes.DetachedProcess.FindOnPath(program) is null).ToArray();
        if (kernel is null)
        {
            Skip = "skipped: no /boot/vmlinuz-VERSION with /lib/modules/VERSION (install linux-image-cloud-amd64)";
        }
        else if (!HostProbe.IsReadable(kernel.Path))
        {
            Skip = $"skipped: {kernel.Path} is not readable by this user";
        }
        else if (missingPrograms.Length > 0)
        {
            Skip = $"skipped: {string.Join(", ", missingPrograms)} not on PATH";
        }
    }

    /// <summary>The kernel the test uses (non-null when the test runs).</summary>
    public static KernelInfo Kernel => KernelLocator.FindDefault() ?? throw new InvalidOperationException("No default kernel.");
}
