using System.Globalization;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// A booted guest that counts in a shell variable (memory), publishing each value to tmpfs, so a cold boot would
/// lose both: the probe the standby and checkpoint tests use to tell a resumed guest from a rebooted one.
/// </summary>
public sealed class CountingGuest(VmManager manager, string vm)
{
    // Renamed into place: a reader catching "echo > file" between its truncation and its write would read nothing.
    private const string Counter = "i=0; while :; do i=$((i+1)); echo $i > /run/count.new; mv /run/count.new /run/count; sleep 0.1; done";

    public async Task StartCountingAsync()
    {
        await RunAsync($"({Counter}) >/dev/null 2>&1 &");
        await WaitForCountAboveAsync(0);
    }

    public async Task<long> CountAsync() => long.Parse(await RunAsync("cat /run/count"), CultureInfo.InvariantCulture);

    /// <summary>Waits (bounded) until the guest's count passes <paramref name="value"/>: the loop runs.</summary>
    public async Task WaitForCountAboveAsync(long value)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        long count;
        do
        {
            await Task.Delay(200);
            count = long.Parse(await RunAsync("cat /run/count 2>/dev/null || echo 0"), CultureInfo.InvariantCulture);
        }
        while (count <= value && DateTime.UtcNow < deadline);

        Assert.True(count > value, $"the guest's count stayed at {count}");
    }

    public async Task<string> RunAsync(string script)
    {
        var result = await manager.ExecAsync(vm, new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"'{script}' exited {result.ExitCode}: {result.Stderr}");
        return result.Stdout.Trim();
    }
}
