using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Storage.LvmThin;

/// <summary>Runs one command of a plan to completion, failing with its stderr (ExternalTool on a host; tests record).</summary>
internal delegate Task<ToolResult> LvmCommandRunner(LvmCommand command, CancellationToken cancellationToken);

/// <summary>
/// What LvmThin storage needs of the host: the kernel's device-mapper, the lvm2 programs, and a thin pool; and the
/// runner its plans go through. Tests give a host of their own: this machine's kernel has no device-mapper.
/// </summary>
internal sealed class LvmThinHost
{
    /// <summary>The lvm2 programs the plans run (Debian's lvm2 links each to /sbin/lvm).</summary>
    public static readonly IReadOnlyList<string> LvmPrograms = ["lvcreate", "lvextend", "lvremove", "lvrename", "lvs"];

    private readonly Func<DeviceMapperStatus> probeDeviceMapper;
    private readonly Func<string, string?> findProgram;

    public LvmThinHost(Func<DeviceMapperStatus> probeDeviceMapper, Func<string, string?> findProgram, LvmCommandRunner? run = null)
    {
        this.probeDeviceMapper = probeDeviceMapper;
        this.findProgram = findProgram;
        Run = run ?? RunOnHostAsync;
    }

    /// <summary>This host: /dev, /sys and /proc as they are, programs on $PATH and the sbin directories.</summary>
    public static LvmThinHost Real { get; } = new(() => DeviceMapper.Probe(), name => DetachedProcess.FindOnPath(name, HostToolCatalog.DefaultSearchPath()));

    public LvmCommandRunner Run { get; }

    /// <summary>
    /// Everything Set-VmHost checks before it records <paramref name="settings"/>, cheapest first: the names, the
    /// device-mapper, the lvm2 programs, then that the pool is a thin pool (lvs). File needs nothing.
    /// </summary>
    public async Task CheckAsync(StorageSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Backend == StorageBackend.File)
        {
            if (settings.VolumeGroup is not null || settings.ThinPool is not null)
            {
                throw StorageErrors.SettingsInvalid("-VolumeGroup and -ThinPool belong to -StorageBackend LvmThin; the File backend takes neither.", settings.Backend);
            }

            return;
        }

        var planner = Planner(settings);
        var deviceMapper = probeDeviceMapper();
        if (!deviceMapper.Available)
        {
            throw StorageErrors.DeviceMapperUnavailable(deviceMapper);
        }

        var missing = LvmPrograms.Where(program => findProgram(program) is null).ToList();
        if (missing.Count > 0)
        {
            throw StorageErrors.LvmToolsMissing(missing);
        }

        var pool = planner.Pool;
        ToolResult attributes;
        try
        {
            attributes = await Run(planner.InspectPool(), cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.ExternalToolFailed)
        {
            throw StorageErrors.ThinPoolNotFound(pool, ex.Message);
        }

        if (!LvmThinPlanner.IsThinPool(attributes.StandardOutput))
        {
            throw StorageErrors.ThinPoolNotFound(pool, $"lvs shows the attributes '{attributes.StandardOutput.Trim()}', and a thin pool's begin with 't'.");
        }
    }

    /// <summary>The storage of an LvmThin setting, whose plans run through <see cref="Run"/>.</summary>
    public LvmThinStorage Storage(StorageSettings settings) => new(Planner(settings), Run);

    private static LvmThinPlanner Planner(StorageSettings settings) =>
        settings is { Backend: StorageBackend.LvmThin, VolumeGroup: { } group, ThinPool: { } pool }
            ? new LvmThinPlanner(group, pool)
            : throw StorageErrors.SettingsInvalid("-StorageBackend LvmThin needs both -VolumeGroup and -ThinPool.", settings.Backend);

    private Task<ToolResult> RunOnHostAsync(LvmCommand command, CancellationToken cancellationToken)
    {
        var program = findProgram(command.Program) ?? throw (LvmPrograms.Contains(command.Program)
            ? StorageErrors.LvmToolsMissing([command.Program])
            : new VmPsException(VmPsErrorIds.ToolNotInstalled, VmPsErrorKind.NotInstalled, $"'{command.Program}' was not found.", command.Program));
        return ExternalTool.RunCheckedAsync(program, command.Arguments, cancellationToken);
    }
}
