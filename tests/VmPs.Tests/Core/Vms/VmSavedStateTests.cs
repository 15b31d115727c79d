using System.Text.Json;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Tests.Core.Vms;

/// <summary>The saved-state manifest: a whole, unchanged state for the same launch settings passes; anything else is refused.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmSavedStateTests : IDisposable
{
    private readonly ChTestVm vm = new();
    private readonly string state;

    public VmSavedStateTests()
    {
        state = Directory.CreateDirectory(vm.PathOf("saved")).FullName;
        File.WriteAllBytes(Path.Combine(state, "memory.bin"), Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray());
        File.WriteAllText(Path.Combine(state, "state.json"), "{}");
    }

    public void Dispose() => vm.Dispose();

    [Fact]
    public async Task A_sealed_state_verifies_and_its_manifest_is_private()
    {
        await SealAsync();

        var manifest = await VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None);

        Assert.Equal(["memory.bin", "state.json"], manifest.Files.Select(file => file.Name));
        Assert.Equal(100_000, manifest.Files[0].SizeBytes);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(state, VmSavedState.ManifestName)));
    }

    [Theory]
    [InlineData("flip", "does not match its SHA-256 digest")]
    [InlineData("truncate", "truncated")]
    [InlineData("delete", "is missing")]
    [InlineData("add", "is not part of it")]
    [InlineData("manifest", "not valid JSON")]
    public async Task A_damaged_state_is_refused_with_what_is_wrong(string damage, string reason)
    {
        await SealAsync();
        var memory = Path.Combine(state, "memory.bin");
        switch (damage)
        {
            case "flip":
                var bytes = File.ReadAllBytes(memory);
                bytes[50_000] ^= 1;
                File.WriteAllBytes(memory, bytes);
                break;
            case "truncate":
                File.WriteAllBytes(memory, File.ReadAllBytes(memory)[..4096]);
                break;
            case "delete":
                File.Delete(memory);
                break;
            case "add":
                File.WriteAllText(Path.Combine(state, "extra.bin"), "x");
                break;
            case "manifest":
                File.WriteAllText(Path.Combine(state, VmSavedState.ManifestName), "{ not json");
                break;
        }

        var error = await Assert.ThrowsAsync<VmPsException>(() => VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SavedStateInvalid, error.ErrorId);
        Assert.Contains(reason, error.Message);
        Assert.Contains("Start-Vm web -Force", error.RecommendedAction);
    }

    [Fact]
    public async Task The_check_before_the_hypervisor_starts_refuses_a_cut_short_file_and_leaves_a_changed_byte_to_the_digests()
    {
        await SealAsync();
        var memory = Path.Combine(state, "memory.bin");
        var bytes = File.ReadAllBytes(memory);
        bytes[50_000] ^= 1;
        File.WriteAllBytes(memory, bytes);

        var manifest = await VmSavedState.CheckAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None);
        var changed = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.VerifyFilesAsync("web", state, manifest, CancellationToken.None));
        Assert.Contains("'memory.bin' does not match its SHA-256 digest", changed.Message);

        File.WriteAllBytes(memory, bytes[..4096]);
        var truncated = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.CheckAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None));
        Assert.Equal(VmPsErrorIds.SavedStateInvalid, truncated.ErrorId);
        Assert.Contains("'memory.bin' has 4096 bytes, not the 100000 saved", truncated.Message);
    }

    [Theory]
    [InlineData("hole", "does not match its SHA-256 digest")]
    [InlineData("truncate", "truncated")]
    public async Task A_sparse_RAM_file_written_in_a_hole_or_cut_short_is_refused(string damage, string reason)
    {
        const long length = 64L << 20;
        var ram = Path.Combine(state, "memory.ram");
        using (var file = File.OpenHandle(ram, FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.SetLength(file, length);
            RandomAccess.Write(file, Enumerable.Repeat((byte)0x5a, 8192).ToArray(), 1 << 20);
        }

        await SealAsync();
        await VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None);
        using (var file = File.OpenHandle(ram, FileMode.Open, FileAccess.Write))
        {
            if (damage == "hole")
            {
                RandomAccess.Write(file, new byte[] { 1 }, length - 100);
            }
            else
            {
                RandomAccess.SetLength(file, length - 4096);
            }
        }

        var error = await Assert.ThrowsAsync<VmPsException>(() => VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SavedStateInvalid, error.ErrorId);
        Assert.Contains("its file 'memory.ram'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public async Task A_state_is_refused_for_other_launch_settings_or_another_driver()
    {
        await SealAsync();

        var resized = await Assert.ThrowsAsync<VmPsException>(() => VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec() with { MemoryMiB = 1024 }, CancellationToken.None));
        Assert.Contains("changed since it was saved", resized.Message);
        var other = await Assert.ThrowsAsync<VmPsException>(() => VerifyAsync("web", state, HypervisorKind.CloudHypervisor, vm.Spec(), CancellationToken.None));
        Assert.Contains("saved by Qemu", other.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_QEMU_state_saved_before_vCPUs_and_memory_were_devices_is_restored_onto_the_machine_it_was_saved_from(bool withRoom)
    {
        var old = Directory.CreateDirectory(vm.PathOf("old")).FullName;
        File.WriteAllBytes(Path.Combine(old, "memory.bin"), "QEVM\0\0\0\u0003"u8.ToArray());
        File.WriteAllText(Path.Combine(old, VmSavedState.ManifestName), OldManifest(withRoom));

        var saved = VmSavedState.LaunchSpecOf(await VerifyAsync("web", old, HypervisorKind.Qemu, Today, CancellationToken.None));
        var arguments = Q35(VmSavedState.OnSavedMachine(Today, saved));

        // The line the VmPs of then ran: every vCPU and all the memory built in.
        AssertPair(arguments, "-smp", "2");
        AssertPair(arguments, "-m", "512M");
        Assert.DoesNotContain(arguments, argument => argument.Contains("x86_64-cpu", StringComparison.Ordinal));
        Assert.DoesNotContain(arguments, argument => argument.Contains("vmem", StringComparison.Ordinal) || argument.Contains("maxmem", StringComparison.Ordinal));
        Assert.DoesNotContain(arguments, argument => argument.Contains("memhp_default_state", StringComparison.Ordinal));

        var moreCpus = await Assert.ThrowsAsync<VmPsException>(() => VerifyAsync("web", old, HypervisorKind.Qemu, Today with { Cpus = 3 }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.SavedStateInvalid, moreCpus.ErrorId);
        Assert.Contains("changed since it was saved", moreCpus.Message);
        var otherDisk = await Assert.ThrowsAsync<VmPsException>(
            () => VerifyAsync("web", old, HypervisorKind.Qemu, Today with { Disks = [.. Today.Disks.Take(2)] }, CancellationToken.None));
        Assert.Contains("changed since it was saved", otherDisk.Message);
    }

    [Fact]
    public async Task A_QEMU_state_saved_now_is_restored_onto_its_machine_with_vCPU_and_memory_devices_and_the_room_it_had()
    {
        await VmSavedState.SealAsync(state, HypervisorKind.Qemu, VmSavedState.Describe(Today with { BootMemoryMiB = 512 }), CancellationToken.None);

        // This host now offers room for fewer vCPUs and less memory: the saved machine is built all the same.
        var now = Today with { MaxCpus = 4, MaxMemoryMiB = 1024 };
        var saved = VmSavedState.LaunchSpecOf(await VerifyAsync("web", state, HypervisorKind.Qemu, now, CancellationToken.None));
        var arguments = Q35(VmSavedState.OnSavedMachine(now, saved));

        AssertPair(arguments, "-smp", "cpus=1,maxcpus=8,sockets=8,cores=1,threads=1");
        AssertPair(arguments, "-device", "max-x86_64-cpu,id=vcpu1,socket-id=1,core-id=0,thread-id=0");
        AssertPair(arguments, "-m", "512M,maxmem=4096M");
        AssertPair(arguments, "-device", "virtio-mem-pci,id=vmem,memdev=vmem0,block-size=128M,requested-size=0M");
    }

    /// <summary>A QEMU q35 VM as Start-Vm launches it now, on a host with room for 8 vCPUs and 4 GiB.</summary>
    private VmLaunchSpec Today => vm.Spec() with { MaxCpus = 8, MaxMemoryMiB = 4096 };

    private IReadOnlyList<string> Q35(VmLaunchSpec spec) => QemuCommandLine.Build(
        new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec, QemuSockets.For(vm.Directory), new QemuGuestMemory(vm.PathOf("guest.ram"), Shared: true));

    private static void AssertPair(IReadOnlyList<string> arguments, string option, string value) =>
        Assert.Contains(Enumerable.Range(0, arguments.Count - 1), index => arguments[index] == option && arguments[index + 1] == value);

    /// <summary>
    /// manifest.json of a saved state as VmPs wrote it before vCPU and memory hot-plug on q35 (format 2, the launch
    /// settings of ccff21c^, without BootMemoryMiB); <paramref name="withRoom"/> false: from before it recorded the room
    /// for Cloud Hypervisor (MaxCpus and MaxMemoryMiB, df0d7c1).
    /// </summary>
    private string OldManifest(bool withRoom)
    {
        var room = withRoom ? "\n  \"MaxCpus\": 8,\n  \"MaxMemoryMiB\": 4096," : "";
        var launchSpec = $$"""
            {
              "VmName": "web",
              "VmDirectory": "{{vm.Directory}}",
              "PidFilePath": "{{vm.PathOf("hypervisor.pid")}}",
              "KernelPath": "/boot/vmlinuz-test",
              "VmlinuxPath": null,
              "InitrdPath": "/var/cache/vmps/initrd-test.img",
              "KernelArguments": "quiet vmps.config=vdc",
              "Firmware": null,
              "Cpus": 2,
              "MemoryMiB": 512,{{room}}
              "Disks": [
                {
                  "Path": "/var/lib/vmps/images/busybox.erofs",
                  "ReadOnly": true,
                  "Serial": "vmps-rootfs",
                  "Format": "Raw",
                  "CdRom": false
                },
                {
                  "Path": "{{vm.PathOf("overlay.ext4")}}",
                  "ReadOnly": false,
                  "Serial": "vmps-overlay",
                  "Format": "Raw",
                  "CdRom": false
                },
                {
                  "Path": "{{vm.PathOf("data.qcow2")}}",
                  "ReadOnly": false,
                  "Serial": "vmps-vol-data",
                  "Format": "Qcow2",
                  "CdRom": false
                }
              ],
              "ConsoleLogPath": "{{vm.PathOf("console.log")}}",
              "AppLogPath": null,
              "HypervisorLogPath": "{{vm.PathOf("hypervisor.log")}}",
              "LogFileMaxBytes": 4194304,
              "VsockCid": 7,
              "NetworkInterfaces": [],
              "Shares": []
            }
            """;

        // The digest of memory.bin's 8 bytes (SparseFileDigest: the page's offset, then its bytes).
        return $$"""
            {
              "Version": 2,
              "Hypervisor": "Qemu",
              "SavedAt": "2026-12-06T22:41:07.5310455+00:00",
              "LaunchSpec": {{JsonSerializer.Serialize(launchSpec)}},
              "Files": [
                {
                  "Name": "memory.bin",
                  "SizeBytes": 8,
                  "Digest": "131556a320c269bccaf5906e4c3c81f8e1bdc274f6f04f49186a71e6780267ac"
                }
              ]
            }
            """;
    }

    /// <summary>What Start-Vm checks of a state: <see cref="VmSavedState.CheckAsync"/> before the hypervisor starts, then its files' digests.</summary>
    private static async Task<SavedStateManifest> VerifyAsync(string vmName, string directory, HypervisorKind hypervisor, VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        var manifest = await VmSavedState.CheckAsync(vmName, directory, hypervisor, spec, cancellationToken);
        await VmSavedState.VerifyFilesAsync(vmName, directory, manifest, cancellationToken);
        return manifest;
    }

    private Task SealAsync() => VmSavedState.SealAsync(state, HypervisorKind.Qemu, VmSavedState.Describe(vm.Spec()), CancellationToken.None);
}
