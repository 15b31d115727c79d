using VmPs.Core;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Security;

/// <summary>
/// Makes VmPs state in a process of its own whose umask is 000 (see <see cref="TestChildProcess"/>), through the real
/// managers: "create" builds the busybox image, a VM (directory, overlay disk) and raw and qcow2 volumes; "start" does
/// the same and boots the VM under QEMU (it runs on, detached, after the child exits); "open" only opens the state database, which repairs an existing installation. Prints "result ok" or the failure.
/// </summary>
public static class PrivateStateChild
{
    private const string HomeVariable = "VMPS_TEST_PRIVATE_HOME";
    private const string ActionVariable = "VMPS_TEST_PRIVATE_ACTION";

    /// <summary>The VM "create" and "start" make.</summary>
    public const string VmName = "private";

    public static void RunIfRequested()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (home is null)
        {
            return;
        }

        _ = Native.TestLibc.umask(0);
        string result;
        try
        {
            var paths = new VmPsPaths(home);
            var action = Environment.GetEnvironmentVariable(ActionVariable);
            if (action is "create" or "start")
            {
                var vms = VmTestHost.Manager(paths);
                vms.CreateAsync(new VmCreateOptions { Name = VmName, Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None).GetAwaiter().GetResult();
                vms.Volumes.CreateAsync(new VolumeCreateOptions { Name = "raw", SizeBytes = VolumeValidation.MinSizeBytes, Format = VolumeFormat.Raw }, CancellationToken.None).GetAwaiter().GetResult();
                vms.Volumes.CreateAsync(new VolumeCreateOptions { Name = "cow", SizeBytes = VolumeValidation.MinSizeBytes, Format = VolumeFormat.Qcow2 }, CancellationToken.None).GetAwaiter().GetResult();
                if (action == "start")
                {
                    // Boots to the agent (the readiness poll takes the agent port's lock); the VM runs on after this process.
                    vms.StartAsync(VmName, new VmStartOptions(), progress: null, CancellationToken.None).GetAwaiter().GetResult();
                }
            }
            else
            {
                new StateDatabase(paths.StateDatabase).OpenAsync(CancellationToken.None).GetAwaiter().GetResult().Dispose();
            }

            result = "ok";
        }
        catch (Exception ex)
        {
            result = ex.ToString().ReplaceLineEndings(" | ");
        }

        Console.WriteLine($"result {result}");
        Environment.Exit(0);
    }

    public static async Task<string> RunAsync(VmPsPaths paths, string action)
    {
        var (stdout, _, stderr) = await TestChildProcess.RunAsync(new Dictionary<string, string> { [HomeVariable] = paths.Root, [ActionVariable] = action });
        return stdout.Split('\n').FirstOrDefault(line => line.StartsWith("result ", StringComparison.Ordinal))?["result ".Length..] ?? $"no result; stderr: {stderr}";
    }
}
