using VmPs.Core;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

/// <summary>QMP against a real QEMU that has no guest: "-machine none", paused with -S.</summary>
public sealed class QmpClientTests : IAsyncLifetime
{
    private readonly ScratchDirectory scratch = new();
    private ProcessIdentity qemu;

    private string Socket => scratch.Combine("qmp.sock");

    public async Task InitializeAsync()
    {
        if (DetachedProcess.FindOnPath("qemu-system-x86_64") is null)
        {
            return;
        }

        qemu = DetachedProcess.Start(
            "qemu-system-x86_64",
            ["-machine", "none", "-S", "-nodefaults", "-no-user-config", "-display", "none", "-qmp", $"unix:{Socket},server=on,wait=off"],
            scratch.Combine("qemu.log"),
            scratch.Path);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!File.Exists(Socket))
        {
            Assert.True(ProcessProbe.IsRunning(qemu), await File.ReadAllTextAsync(scratch.Combine("qemu.log")));
            await Task.Delay(20, deadline.Token);
        }
    }

    public async Task DisposeAsync()
    {
        await ProcessProbe.KillAsync(qemu, TimeSpan.FromSeconds(5), CancellationToken.None);
        scratch.Dispose();
    }

    [RequiresProgramFact("qemu-system-x86_64")]
    public async Task GreetingGivesTheVersionAndQueryStatusTheRunState()
    {
        await using var qmp = await QmpClient.ConnectAsync(Socket, CancellationToken.None);

        Assert.Matches(@"^\d+\.\d+\.\d+$", qmp.QemuVersion);
        Assert.Equal("prelaunch", await qmp.QueryStatusAsync(CancellationToken.None));
    }

    [RequiresProgramFact("qemu-system-x86_64")]
    public async Task RejectedCommandCarriesQemusDescription()
    {
        await using var qmp = await QmpClient.ConnectAsync(Socket, CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() => qmp.ExecuteAsync("no-such-command", CancellationToken.None));

        Assert.Equal("QmpCommandFailed", error.ErrorId);
        Assert.Contains("The command no-such-command has not been found", error.Message);
        Assert.Contains("CommandNotFound", error.Message);
        Assert.Equal("prelaunch", await qmp.QueryStatusAsync(CancellationToken.None));
    }

    [RequiresProgramFact("qemu-system-x86_64")]
    public async Task QuitEndsQemu()
    {
        await using (var qmp = await QmpClient.ConnectAsync(Socket, CancellationToken.None))
        {
            await qmp.QuitAsync(CancellationToken.None);
        }

        Assert.True(await ProcessProbe.WaitForExitAsync(qemu, TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [RequiresProgramFact("qemu-system-x86_64")]
    public async Task SocketWithoutAServerIsAConnectionError()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => QmpClient.ConnectAsync(scratch.Combine("absent.sock"), CancellationToken.None));

        Assert.Equal("QmpConnectionFailed", error.ErrorId);
        Assert.Equal(VmPsErrorKind.ConnectionError, error.Kind);
    }
}
