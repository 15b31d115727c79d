using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A fact that runs only where a host program is installed; elsewhere it is reported as skipped
/// with the reason, so a missing prerequisite never passes silently.
/// </summary>
public sealed class RequiresProgramFactAttribute : FactAttribute
{
    public RequiresProgramFactAttribute(params string[] programs)
    {
        var missing = programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not on PATH";
        }
    }
}

/// <summary>A theory that runs only where the host programs are installed; elsewhere it is skipped naming them.</summary>
public sealed class RequiresProgramTheoryAttribute : TheoryAttribute
{
    public RequiresProgramTheoryAttribute(params string[] programs)
    {
        var missing = programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not on PATH";
        }
    }
}

/// <summary>A fact that needs root (network namespaces, loop devices, mounts).</summary>
public sealed class RequiresRootFactAttribute : FactAttribute
{
    public RequiresRootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "skipped: needs root";
        }
    }
}

/// <summary>A fact that needs QEMU's UEFI firmware as Debian's ovmf package installs it, and qemu-img for disk images.</summary>
public sealed class RequiresOvmfFactAttribute : FactAttribute
{
    public const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";

    public const string OvmfVariables = "/usr/share/OVMF/OVMF_VARS_4M.fd";

    public RequiresOvmfFactAttribute()
    {
        var missing = new[] { "qemu-img", "qemu-system-x86_64" }.Where(program => DetachedProcess.FindOnPath(program) is null).ToList();
        if (!File.Exists(OvmfCode) || !File.Exists(OvmfVariables))
        {
            missing.Add($"{OvmfCode} (ovmf)");
        }

        if (missing.Count > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not installed";
        }
    }
}

/// <summary>A fact that boots a bootable ISO made by grub-mkrescue (grub-common, with grub-efi-amd64-bin's modules and mtools) through OVMF.</summary>
public sealed class RequiresGrubIsoFactAttribute : FactAttribute
{
    public const string GrubEfiModules = "/usr/lib/grub/x86_64-efi";

    public RequiresGrubIsoFactAttribute()
    {
        var missing = new[] { "grub-mkrescue", "xorriso", "mformat" }.Where(program => DetachedProcess.FindOnPath(program) is null).ToList();
        if (!Directory.Exists(GrubEfiModules))
        {
            missing.Add($"{GrubEfiModules} (grub-efi-amd64-bin)");
        }

        Skip = missing.Count > 0 ? $"skipped: {string.Join(", ", missing)} not installed" : new RequiresOvmfFactAttribute().Skip;
    }
}
