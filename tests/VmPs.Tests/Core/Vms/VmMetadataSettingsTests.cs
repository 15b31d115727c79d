using System.Text.Json;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>New-Vm and Set-Vm -MetadataOptions, -UserData and -SshPublicKey on an OCI VM that is not started (the boot side is InstanceMetadataVmTests).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmMetadataSettingsTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task HttpTokens_is_kept_from_New_Vm_and_changed_by_Set_Vm_but_not_under_WhatIf()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1, MetadataHttpTokens = MetadataHttpTokens.Required }, CancellationToken.None);
        Assert.Equal(MetadataHttpTokens.Required, created.MetadataHttpTokens);

        var planned = await manager.SetAsync("web", new VmSetOptions { MetadataHttpTokens = MetadataHttpTokens.Optional }, dryRun: true, CancellationToken.None);
        Assert.Equal(MetadataHttpTokens.Required, planned.MetadataHttpTokens);
        Assert.Equal(MetadataHttpTokens.Required, (await manager.GetAsync("web", CancellationToken.None)).MetadataHttpTokens);

        var set = await manager.SetAsync("web", new VmSetOptions { MetadataHttpTokens = MetadataHttpTokens.Optional }, dryRun: false, CancellationToken.None);
        Assert.Equal(MetadataHttpTokens.Optional, set.MetadataHttpTokens);
        Assert.Equal(MetadataHttpTokens.Optional, (await manager.GetAsync("web", CancellationToken.None)).MetadataHttpTokens);
        Assert.Equal(created.Cpus, set.Cpus);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task An_OCI_VM_keeps_any_user_data_and_its_keys_privately_and_a_bad_key_leaves_nothing()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(
            new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1, UserData = "role=web\n", SshPublicKeys = [SampleSshKeys.Ed25519] }, CancellationToken.None);

        var kept = Path.Combine(vm.Directory, "user-data.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kept));
        using (var document = JsonDocument.Parse(await File.ReadAllTextAsync(kept)))
        {
            Assert.Equal("role=web\n", document.RootElement.GetProperty("UserData").GetString());
            Assert.Equal([SampleSshKeys.Ed25519], document.RootElement.GetProperty("SshPublicKeys").EnumerateArray().Select(key => key.GetString()));
        }

        var badKey = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "db", Image = "busybox", DiskSizeGiB = 1, SshPublicKeys = ["ssh-ed25519 not-base64"] }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.InvalidSshPublicKey, badKey.ErrorId);
        Assert.Null(await manager.FindAsync("db", CancellationToken.None));
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(vm.Directory)!));
    }
}
