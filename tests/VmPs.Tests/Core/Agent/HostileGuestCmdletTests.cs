using System.Formats.Tar;
using VmPs.Core.Processes;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.PowerShell;
using Xunit.Abstractions;
using static VmPs.Tests.Core.Agent.HostileFileScript;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// The real cmdlets, in pwsh with the built module, against a hostile guest: Invoke-VmCommand gets 200 MiB of output,
/// Copy-VmFile an archive with an extra entry and a setuid file. Each fails with its specific error id and leaves
/// nothing outside the destination.
/// </summary>
public sealed class HostileGuestCmdletTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Invoke_VmCommand_and_Copy_VmFile_refuse_a_hostile_guest_with_specific_errors()
    {
        using var scratch = new ScratchDirectory();
        var destination = scratch.Combine("dest");
        var outside = scratch.Combine("outside");
        Directory.CreateDirectory(destination);
        Directory.CreateDirectory(outside);
        var script = new GuestScript(
            new HostileExecScript { OutputBytes = 200L * 1024 * 1024 },
            new HostileFileScript
            {
                Stat = PlainDirectory("tree"),
                Archive = request => Tar(
                    Entry(TarEntryType.Directory, request.EntryName!),
                    Entry(TarEntryType.RegularFile, $"{request.EntryName}/tool", "#!/bin/sh", octalMode: "4755"),
                    Entry(TarEntryType.RegularFile, "../outside/authorized_keys", "ssh-ed25519 evil")),
            });
        await using var vm = await HostileVm.StartAsync(script);

        var result = await RunPwshAsync(vm.Home, $$"""
            Import-Module '{{ModuleLayout.ModuleDirectory}}' -ErrorAction Stop
            $out = Invoke-VmCommand -Name {{HostileVm.Name}} -Command yes -ErrorVariable invoke -ErrorAction SilentlyContinue
            "invoke: $($invoke[0].FullyQualifiedErrorId) | $($invoke[0].CategoryInfo.Category) | $($invoke[0].TargetObject) | $($null -eq $out)"
            Copy-VmFile -Name {{HostileVm.Name}} -Path /srv/tree -Destination '{{destination}}' -FromVm -Recurse -ErrorVariable copy -ErrorAction SilentlyContinue
            "copy: $($copy[0].FullyQualifiedErrorId) | $($copy[0].CategoryInfo.Category)"
            """);

        output.WriteLine(result.StandardOutput + result.StandardError);
        Assert.Contains("invoke: GuestOutputTooLarge,VmPs.PowerShell.Commands.InvokeVmCommandCommand | LimitsExceeded | hostile | True", result.StandardOutput);
        Assert.Contains("copy: HostPathEscape,VmPs.PowerShell.Commands.CopyVmFileCommand | InvalidData", result.StandardOutput);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Empty(Directory.EnumerateFileSystemEntries(destination));
    }

    private static Task<ToolResult> RunPwshAsync(string home, string command) =>
        ExternalTool.RunAsync(Pwsh.Path, ["-NoProfile", "-NonInteractive", "-Command", command], CancellationToken.None, environment: new Dictionary<string, string> { ["VMPS_HOME"] = home });

    /// <summary>One agent answering execs as one hostile script and file requests as another.</summary>
    private sealed class GuestScript(HostileExecScript exec, HostileFileScript files) : HostileScript
    {
        public override Task OnExecStartAsync(HostileSession session, uint channel, ExecStartMessage request) => exec.OnExecStartAsync(session, channel, request);

        public override Task OnFileRequestAsync(HostileSession session, uint channel, FileRequestMessage request) => files.OnFileRequestAsync(session, channel, request);
    }
}
