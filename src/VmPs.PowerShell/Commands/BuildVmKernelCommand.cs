using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Kernels;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Builds the VmPs guest kernel (every driver a VmPs guest needs built in, no modules) from the host's kernel
/// source into the state directory's kernel cache, and makes it the kernel New-Vm gives new VMs.
/// </summary>
// "Build" is an approved verb (Lifecycle) since PowerShell 6; PowerShellStandard 5.1 has no constant for it.
[Cmdlet("Build", "VmKernel", SupportsShouldProcess = true)]
[OutputType(typeof(VmPsKernel), typeof(Job))]
public sealed class BuildVmKernelCommand : AsyncCmdlet
{
    private const string Activity = "Build-VmKernel";

    protected override string JobTypeName => "VmKernelBuildJob";

    /// <summary>The kernel source tarball (default: the newest /usr/src/linux-source-*.tar.xz).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SourcePath { get; set; }

    /// <summary>A config fragment merged over kernel/vmps.config.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Build again even when this source and config are cached.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void EndProcessing()
    {
        var builder = new KernelBuilder(VmPsPaths.Default());
        var request = new KernelBuildRequest
        {
            SourcePath = SourcePath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(SourcePath),
            ConfigPath = ConfigPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigPath),
        };

        try
        {
            var plan = Await(cancellationToken => builder.PlanAsync(request, cancellationToken));
            var action = plan.Cached is { } cached && !Force
                ? $"Use the cached VmPs kernel {cached.Release} (built {cached.BuiltAt.ToLocalTime():yyyy-MM-dd HH:mm})"
                : $"Build the VmPs kernel from {plan.Source.Path} ({plan.Source.Version}, config {plan.ConfigHash[..12]}): several minutes of compiling at low priority";
            if (!ShouldProcess(builder.Cache.Directory, action))
            {
                return;
            }

            RunOperation(AsJob, builder.Cache.Directory, Activity, async (progress, cancellationToken) =>
                PSTypeNames.Tag(await builder.BuildAsync(plan, Force, progress, cancellationToken).ConfigureAwait(false), PSTypeNames.VmKernel));
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }

        base.EndProcessing();
    }
}
