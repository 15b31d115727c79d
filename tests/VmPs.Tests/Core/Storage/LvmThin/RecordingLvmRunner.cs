using VmPs.Core;
using VmPs.Core.Processes;
using VmPs.Core.Storage.LvmThin;

namespace VmPs.Tests.Core.Storage.LvmThin;

/// <summary>
/// The seam LvmThin plans run through, recording each command instead of running it (this machine's kernel has no
/// device-mapper). lvs answers the pool check as for a thin pool unless told otherwise, and the usage query with
/// <see cref="UsageOutput"/>; <see cref="FailOn"/> fails the first command whose program it names, as ExternalTool
/// reports a failed program.
/// </summary>
internal sealed class RecordingLvmRunner
{
    public List<LvmCommand> Commands { get; } = [];

    public string? FailOn { get; set; }

    public string LvsOutput { get; set; } = "  twi-a-tz--\n";

    /// <summary>What lvs prints for the usage query (lv_name,lv_size,data_percent); nothing unless a test says.</summary>
    public string UsageOutput { get; set; } = "";

    public IReadOnlyList<string[]> Argv => Commands.Select(command => (string[])[command.Program, .. command.Arguments]).ToList();

    /// <summary>A host with device-mapper and lvm2 whose plans this runner records.</summary>
    public LvmThinHost Host(DeviceMapperStatus? deviceMapper = null, params string[] missingPrograms) =>
        new(() => deviceMapper ?? new DeviceMapperStatus(true, true, true), name => missingPrograms.Contains(name) ? null : "/usr/sbin/" + name, RunAsync);

    public Task<ToolResult> RunAsync(LvmCommand command, CancellationToken cancellationToken)
    {
        Commands.Add(command);
        if (command.Program == FailOn)
        {
            FailOn = null;
            throw new VmPsException(VmPsErrorIds.ExternalToolFailed, VmPsErrorKind.InvalidOperation, $"{command} failed with exit code 5: test failure", command.Program);
        }

        var output = command.Program != "lvs" ? "" : command.Arguments.Contains("lv_attr") ? LvsOutput : UsageOutput;
        return Task.FromResult(new ToolResult(0, output, ""));
    }
}
