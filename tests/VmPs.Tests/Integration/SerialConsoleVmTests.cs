using VmPs.Core;
using VmPs.Core.Logs;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// Enter-Vm -Console's session on the shared QEMU VM: a shell the test starts on the guest's ttyS0 answers a line typed on the console; Ctrl+] detaches and the VM runs on, its console log whole.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class SerialConsoleVmTests(BootedBusyboxVm vm)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    [RequiresVmBootFact]
    public async Task A_line_typed_on_the_console_is_answered_by_the_guest_and_the_detach_key_leaves_the_VM_running()
    {
        var output = new ConsoleCapture();
        SerialConsoleEnd end;
        await using (var session = await vm.Manager.AttachConsoleAsync(BootedBusyboxVm.Name, default))
        {
            var running = session.RunAsync(output, default);
            await vm.StartConsoleShellAsync();
            await output.WaitForAsync("# ");

            // The echo shows the typed text; only the shell's answer has the sum.
            await session.SendAsync("echo console-$((6*7))\r"u8.ToArray(), default);
            await output.WaitForAsync("console-42");
            await session.SendAsync("exit\r\u001d"u8.ToArray(), default);
            end = await running.WaitAsync(HangGuard);
        }

        Assert.Equal(SerialConsoleEnd.Detached, end);
        Assert.Equal(VmState.Running, (await vm.Manager.GetAsync(BootedBusyboxVm.Name, default)).State);
        var after = await vm.Manager.ExecAsync(BootedBusyboxVm.Name, new VmExecOptions { Command = ["echo", "agent-still-answers"] }, default);
        Assert.Equal("agent-still-answers\n", after.Stdout);
        await WaitForConsoleLogAsync("console-42");
    }

    [RequiresVmBootFact]
    public async Task A_second_session_is_refused_while_one_is_attached_and_allowed_after_it_detached()
    {
        await using (await vm.Manager.AttachConsoleAsync(BootedBusyboxVm.Name, default))
        {
            var refused = await Assert.ThrowsAsync<VmPsException>(() => vm.Manager.AttachConsoleAsync(BootedBusyboxVm.Name, default));
            Assert.Equal(VmPsErrorIds.SerialConsoleInUse, refused.ErrorId);
        }

        await using var again = await vm.Manager.AttachConsoleAsync(BootedBusyboxVm.Name, default);
        Assert.False(again.IsDetached);
    }

    /// <summary>The console log (what Get-VmLog and Start-Vm read) still gets the guest's console output while a session is attached.</summary>
    private async Task WaitForConsoleLogAsync(string marker)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (true)
        {
            var lines = new List<string>();
            await foreach (var line in vm.Manager.GetLogAsync(BootedBusyboxVm.Name, VmLogSource.Console, new VmLogOptions(), guard.Token))
            {
                lines.Add(line);
            }

            if (lines.Any(line => line.Contains(marker, StringComparison.Ordinal)))
            {
                return;
            }

            await Task.Delay(50, guard.Token);
        }
    }
}
