using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// How Start-Vm waits for a disk image VM's agent when none answers (the agent socket here has no listener, as in a
/// guest whose cloud-init never ran): the console decides between "no cloud-init" and "still booting". The boots with
/// a real agent are in DebianCloudBootTests and DiskImageBootTests.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DiskImageAgentTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    private HypervisorInstance Instance => new(HypervisorKind.Qemu, ProcessProbe.Current(), scratch.Combine("qmp.sock"), AgentEndpoint.VirtioSerial(scratch.Combine("agent.sock")));

    [Fact]
    public async Task A_guest_at_its_login_prompt_without_cloud_init_on_its_console_runs_without_the_agent_and_the_wait_ends_before_the_timeout()
    {
        var console = scratch.Combine("console.log");
        await File.WriteAllTextAsync(console, "[  OK  ] Reached target multi-user.target\r\n\r\nDebian GNU/Linux 12 inst ttyS0\r\n\r\ninst login: ");

        var waiting = DiskImageAgent.WaitAsync(Instance, console, TimeSpan.FromMinutes(10), CancellationToken.None);
        var reason = await waiting.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.NotNull(reason);
        Assert.Contains("login prompt", reason, StringComparison.Ordinal);
        Assert.Contains("cloud-init", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_whose_cloud_init_runs_is_waited_for_until_the_timeout_even_past_its_login_prompt()
    {
        var console = scratch.Combine("console.log");
        await File.WriteAllTextAsync(console, "Cloud-init v. 22.4.2 running 'init-local' at Sun, 06 Dec 2026 18:00:00 +0000.\r\ninst login: ");

        var reason = await DiskImageAgent.WaitAsync(Instance, console, TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.NotNull(reason);
        Assert.Contains("did not answer within 20 s", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("login prompt", reason, StringComparison.Ordinal);
    }
}
