using System.Globalization;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// Suspend-Vm, Resume-Vm, Save-Vm and Start-Vm from the saved state on one busybox guest booted under QEMU (TCG): a
/// shell loop counting in the guest's memory goes on from where it was, the guest is the same boot (boot_id) with its
/// clock set again, through saves that keep the RAM as a file, a failed save leaves it running, and a damaged saved
/// state (changed in place, or cut short) is refused and cold-started past.
/// </summary>
[Collection(VmBootCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StandbyVmTests() : OwnHomeVmTests(Vm)
{
    private const string Vm = "standby";

    [RequiresVmBootFact]
    public async Task A_counting_guest_counts_on_after_pause_and_after_save_and_a_damaged_saved_state_is_refused()
    {
        await Manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", MemoryMiB = 512, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var bootId = await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id");
        await Guest.StartCountingAsync();

        // Paused: exec is refused at once, the count stands still; resumed, it goes on from there.
        var beforePause = await Guest.CountAsync();
        Assert.Equal(VmState.Paused, (await Manager.SuspendAsync(Vm, CancellationToken.None)).State);
        var paused = await Assert.ThrowsAsync<VmPsException>(() => Guest.RunAsync("true"));
        Assert.Equal(VmPsErrorIds.VmPaused, paused.ErrorId);
        Assert.Equal(VmState.Running, (await Manager.ResumeAsync(Vm, CancellationToken.None)).State);
        var afterResume = await Guest.CountAsync();
        Assert.True(afterResume >= beforePause, $"the count went from {beforePause} back to {afterResume}");
        await Guest.WaitForCountAboveAsync(afterResume);

        // A save that fails (its migration socket cannot be made) leaves the VM running and counting.
        var directory = (await Manager.GetAsync(Vm, CancellationToken.None)).Directory;
        var blocker = Directory.CreateDirectory(Path.Combine(directory, "state.sock"));
        var failed = await Assert.ThrowsAsync<VmPsException>(() => Manager.SaveAsync(Vm, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.VmSaveFailed, failed.ErrorId);
        blocker.Delete();
        Assert.Equal(VmState.Running, (await Manager.GetAsync(Vm, CancellationToken.None)).State);
        Assert.False(Directory.Exists(Path.Combine(directory, "saved.partial")));
        await Guest.WaitForCountAboveAsync(await Guest.CountAsync());

        // Saved: no hypervisor, the RAM in a file of its own beside a stream of device state only; Start-Vm restores the
        // same boot onto the VM's own shared memory file, still counting, its clock set to the host's again.
        var beforeSave = await Guest.CountAsync();
        var saved = await Manager.SaveAsync(Vm, CancellationToken.None);
        Assert.Equal(VmState.Saved, saved.State);
        Assert.Null(saved.ProcessId);
        Assert.True(File.Exists(Path.Combine(directory, "saved", "manifest.json")));
        AssertRamInItsOwnFile(directory);
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(VmState.Running, (await Manager.StartAsync(Vm, Start, null, CancellationToken.None)).State);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        var afterRestore = await Guest.CountAsync();
        Assert.True(afterRestore >= beforeSave, $"the count went from {beforeSave} back to {afterRestore}: not restored");
        await Guest.WaitForCountAboveAsync(afterRestore);
        var skew = Math.Abs(long.Parse(await Guest.RunAsync("date +%s"), CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.True(skew <= 3, $"the guest clock is {skew} s off the host's after the restore");
        Assert.False(Directory.Exists(Path.Combine(directory, "saved")), "a restored state must not be restorable twice");
        await AssertRunsOnItsOwnSharedFileAsync(directory);

        // Restored onto its own file, it saves its RAM as a file again, and a second restore counts on as well.
        var beforeSecondSave = await Guest.CountAsync();
        await Manager.SaveAsync(Vm, CancellationToken.None);
        AssertRamInItsOwnFile(directory);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        var afterSecondRestore = await Guest.CountAsync();
        Assert.True(afterSecondRestore >= beforeSecondSave, $"the count went from {beforeSecondSave} back to {afterSecondRestore}: not restored");
        await Guest.WaitForCountAboveAsync(afterSecondRestore);
        await AssertRunsOnItsOwnSharedFileAsync(directory);

        // A RAM file changed in place is found while QEMU starts: QEMU is stopped before it loads anything, nothing of
        // it is left, and the VM stays Saved. With the byte put back, the state restores and the count goes on.
        var beforeThirdSave = await Guest.CountAsync();
        await Manager.SaveAsync(Vm, CancellationToken.None);
        var memory = Path.Combine(directory, "saved", "memory.ram");
        FlipFirstByte(memory);
        var changed = await Assert.ThrowsAsync<VmPsException>(() => Manager.StartAsync(Vm, Start, null, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.SavedStateInvalid, changed.ErrorId);
        Assert.Contains("'memory.ram' does not match its SHA-256 digest", changed.Message);
        Assert.Equal(VmState.Saved, (await Manager.GetAsync(Vm, CancellationToken.None)).State);
        Assert.Empty(HostProcesses.Mentioning(directory + "/"));
        Assert.False(File.Exists(QemuGuestMemory.RunningFile(directory)));
        FlipFirstByte(memory);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var afterThirdRestore = await Guest.CountAsync();
        Assert.True(afterThirdRestore >= beforeThirdSave, $"the count went from {beforeThirdSave} back to {afterThirdRestore}: not restored");

        // A truncated RAM file is refused before any hypervisor starts; the VM stays Saved with its state as it was
        // (nothing copied to /dev/shm), and -Force cold-starts it.
        await Manager.SaveAsync(Vm, CancellationToken.None);
        await using (var file = new FileStream(memory, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length / 2);
        }

        var refused = await Assert.ThrowsAsync<VmPsException>(() => Manager.StartAsync(Vm, Start, null, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.SavedStateInvalid, refused.ErrorId);
        Assert.Contains("memory.ram", refused.Message);
        Assert.Equal(VmState.Saved, (await Manager.GetAsync(Vm, CancellationToken.None)).State);
        Assert.True(File.Exists(Path.Combine(directory, "saved", "memory.bin")));
        Assert.False(File.Exists(QemuGuestMemory.RunningFile(directory)));
        await Manager.StartAsync(Vm, Start with { DiscardSavedState = true }, null, CancellationToken.None);
        Assert.NotEqual(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        Assert.Equal("none", await Guest.RunAsync("cat /run/count 2>/dev/null || echo none"));
    }

    /// <summary>Changes a byte of the file in place (its length kept); a second call puts it back.</summary>
    private static void FlipFirstByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var first = file.ReadByte();
        file.Position = 0;
        file.WriteByte((byte)(first ^ 1));
    }

    /// <summary>The saved state holds the guest's RAM as a file as long as its memory, and a stream of device state only.</summary>
    private static void AssertRamInItsOwnFile(string directory)
    {
        Assert.Equal(512L << 20, new FileInfo(Path.Combine(directory, "saved", "memory.ram")).Length);
        var stream = new FileInfo(Path.Combine(directory, "saved", "memory.bin")).Length;
        Assert.True(stream < 8L << 20, $"memory.bin has {stream} bytes: the RAM went into the stream");
    }

    /// <summary>QEMU maps the VM's own RAM file in /dev/shm shared (share=on), as after a cold boot.</summary>
    private async Task AssertRunsOnItsOwnSharedFileAsync(string directory)
    {
        var ram = QemuGuestMemory.RunningFile(directory);
        Assert.True(File.Exists(ram), $"'{ram}' is missing");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ram));
        var arguments = (await File.ReadAllTextAsync($"/proc/{(await Manager.GetAsync(Vm, CancellationToken.None)).ProcessId}/cmdline")).Split('\0');
        Assert.Contains(arguments, argument => argument.StartsWith("memory-backend-file,", StringComparison.Ordinal) && argument.EndsWith($",mem-path={ram},share=on", StringComparison.Ordinal));
    }
}
