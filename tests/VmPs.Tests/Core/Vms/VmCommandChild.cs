using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// One VM command in a process of its own (`dotnet VmPs.Tests.dll` with DOTNET_STARTUP_HOOKS, see StartupHook), as a
/// pwsh session would run it, for the crash tests to kill at a crash point (VMPS_CRASH_AT). The command is
/// "create NAME NETWORK", "start NAME" (without waiting for the agent), "stop NAME" (TurnOff), "remove NAME",
/// "checkpoint NAME CHECKPOINT" or "restore NAME CHECKPOINT"; the VMPS_HOME and VMPS_NETNS (if any) it works in
/// come from the environment. It prints "result ok|ERRORID".
/// </summary>
public static class VmCommandChild
{
    public const int PublishedHostPort = 18080;

    private const string HomeVariable = "VMPS_TEST_VM_HOME";
    private const string CommandVariable = "VMPS_TEST_VM_COMMAND";

    public static void RunIfRequested()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (home is null)
        {
            return;
        }

        var command = Environment.GetEnvironmentVariable(CommandVariable)!.Split(' ');
        string result;
        try
        {
            RunAsync(VmTestHost.Manager(new VmPsPaths(home)), command).GetAwaiter().GetResult();
            result = "ok";
        }
        catch (VmPsException ex)
        {
            result = ex.ErrorId;
        }

        Console.WriteLine($"result {result}");
        Environment.Exit(0);
    }

    /// <summary>Runs the command in a child killed at <paramref name="crashAt"/>; its exit code (137 when the kill came).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(VmPsPaths paths, string? networkNamespace, string command, string crashAt)
    {
        var environment = new Dictionary<string, string>
        {
            [HomeVariable] = paths.Root,
            [CommandVariable] = command,
            [CrashPoint.EnvironmentVariable] = crashAt,
        };
        if (networkNamespace is not null)
        {
            environment[NetworkNamespace.EnvironmentVariable] = networkNamespace;
        }

        var (stdout, exitCode, stderr) = await TestChildProcess.RunAsync(environment);
        return (exitCode, stdout + stderr);
    }

    private static Task RunAsync(VmManager manager, string[] command) => command[0] switch
    {
        "create" => manager.CreateAsync(
            new VmCreateOptions
            {
                Name = command[1],
                Image = "busybox",
                Network = new VmNetworkOptions
                {
                    Network = command[2],
                    PublishedPorts = [new PortMappingOptions { HostPort = PublishedHostPort, VmPort = 80 }],
                },
            },
            CancellationToken.None),
        "start" => manager.StartAsync(command[1], new VmStartOptions { WaitForAgent = false }, null, CancellationToken.None),
        "stop" => manager.StopAsync(command[1], new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None),
        "remove" => manager.RemoveAsync(command[1], force: true, CancellationToken.None),
        "checkpoint" => manager.CheckpointAsync(command[1], command[2], CancellationToken.None),
        "restore" => manager.RestoreCheckpointAsync(command[1], command[2], CancellationToken.None),
        _ => throw new ArgumentException($"unknown command '{command[0]}'"),
    };
}
