using VmPs.Core.Logs;
using VmPs.Protocol;
using VmPs.Protocol.Logs;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Guest.Init;

/// <summary>Read-only checks of the shared booted busybox VM's logs (exec mode under QEMU).</summary>
[Collection(VmBootCollection.Name)]
public sealed class InitLogOfABootTests
{
    private readonly BootedBusyboxVm booted;

    public InitLogOfABootTests(BootedBusyboxVm booted)
    {
        this.booted = booted;
    }

    [RequiresVmBootFact]
    public async Task TheInitLogHasARecordForEveryBootPhaseInOrderWithoutErrors()
    {
        // The last boot phase comes after the low-priority module loading, which may still run when the tests start.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var records = new List<InitLogRecord>();
        await foreach (var record in booted.Manager.GetInitLogAsync(BootedBusyboxVm.Name, new VmLogOptions { Follow = true }, deadline.Token))
        {
            records.Add(record);
            if (record.Phase == InitLogPhases.Entrypoint)
            {
                break;
            }
        }

        // The agent answers before the root filesystem is mounted: nothing of it is needed for the handshake.
        var phases = records.Select(record => record.Phase).Distinct().ToList();
        Assert.Equal(
            [InitLogPhases.Boot, InitLogPhases.Modules, InitLogPhases.Config, InitLogPhases.Agent, InitLogPhases.Disks, InitLogPhases.Rootfs, InitLogPhases.Network, InitLogPhases.Entrypoint],
            phases);
        Assert.DoesNotContain(records, record => record.Level == InitLogLevels.Error);
        Assert.Contains(records, record => record.Phase == InitLogPhases.Agent && record.Message.StartsWith("agent ready on virtio-serial port org.vmps.agent", StringComparison.Ordinal));
        Assert.Equal(records.OrderBy(record => record.Time).ToList(), records);
        Assert.All(records, record => Assert.InRange(record.Time, booted.Vm.StartedAt!.Value.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5)));
    }

    [RequiresVmBootFact]
    public async Task TheConsoleSourceIsTheKernelConsoleAndTailCountsFromTheEnd()
    {
        var console = await booted.Manager.GetLogAsync(BootedBusyboxVm.Name, VmLogSource.Console, new VmLogOptions(), CancellationToken.None).ToListAsync();
        var lastTwo = await booted.Manager.GetLogAsync(BootedBusyboxVm.Name, VmLogSource.Console, new VmLogOptions { Tail = 2 }, CancellationToken.None).ToListAsync();
        var initJson = await booted.Manager.GetLogAsync(BootedBusyboxVm.Name, VmLogSource.Init, new VmLogOptions { Tail = 1 }, CancellationToken.None).ToListAsync();

        Assert.Contains(console, line => line.StartsWith(ConsoleMarkers.Boot + " ", StringComparison.Ordinal));
        Assert.Contains(console, line => line.StartsWith(ConsoleMarkers.AgentReady, StringComparison.Ordinal));
        Assert.Equal(console.TakeLast(2), lastTwo);
        Assert.True(InitLogRecord.TryParse(InitLogRecord.Marker + Assert.Single(initJson), out _));
    }

    [RequiresVmBootFact]
    public async Task FollowingARunningVmKeepsGoingUntilCancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var lines = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var line in booted.Manager.GetLogAsync(BootedBusyboxVm.Name, VmLogSource.Console, new VmLogOptions { Tail = 1, Follow = true }, cancellation.Token))
            {
                lines.Add(line);
                cancellation.CancelAfter(TimeSpan.FromSeconds(1));
            }
        });
        Assert.NotEmpty(lines);
    }
}
