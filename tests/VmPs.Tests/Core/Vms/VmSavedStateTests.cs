using VmPs.Core;
using VmPs.Core.Hypervisors;
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

        var manifest = await VmSavedState.VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None);

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

        var error = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SavedStateInvalid, error.ErrorId);
        Assert.Contains(reason, error.Message);
        Assert.Contains("Start-Vm web -Force", error.RecommendedAction);
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
        await VmSavedState.VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None);
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

        var error = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec(), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SavedStateInvalid, error.ErrorId);
        Assert.Contains("its file 'memory.ram'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public async Task A_state_is_refused_for_other_launch_settings_or_another_driver()
    {
        await SealAsync();

        var resized = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.VerifyAsync("web", state, HypervisorKind.Qemu, vm.Spec() with { MemoryMiB = 1024 }, CancellationToken.None));
        Assert.Contains("changed since it was saved", resized.Message);
        var other = await Assert.ThrowsAsync<VmPsException>(() => VmSavedState.VerifyAsync("web", state, HypervisorKind.CloudHypervisor, vm.Spec(), CancellationToken.None));
        Assert.Contains("saved by Qemu", other.Message);
    }

    private Task SealAsync() => VmSavedState.SealAsync(state, HypervisorKind.Qemu, VmSavedState.Describe(vm.Spec()), CancellationToken.None);
}
