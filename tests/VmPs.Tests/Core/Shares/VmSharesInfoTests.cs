using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Shares;

/// <summary>Get-Vm shows a VM's host directory shares (New-Vm -Share) as they were stored; no VM boots.</summary>
public sealed class VmSharesInfoTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_vms_shares_are_on_its_object_in_their_order_with_their_read_only_flag()
    {
        var site = Directory.CreateDirectory(scratch.Combine("site")).FullName;
        var logs = Directory.CreateDirectory(scratch.Combine("logs")).FullName;
        var manager = VmTestHost.Manager(home.Paths);

        var created = await manager.CreateAsync(
            new VmCreateOptions { Name = "web", Image = "busybox", Shares = [new ShareOptions(site, "/srv/site", ReadOnly: true), new ShareOptions(logs + "/", "/var/log/app/", ReadOnly: false)] },
            CancellationToken.None);
        await manager.CreateAsync(new VmCreateOptions { Name = "plain", Image = "busybox" }, CancellationToken.None);

        ShareOptions[] expected = [new(site, "/srv/site", true), new(logs, "/var/log/app", false)];
        Assert.Equal(expected, created.Shares);
        Assert.Equal(expected, (await manager.GetAsync("web", CancellationToken.None)).Shares);
        var all = await manager.GetAllAsync(CancellationToken.None);
        Assert.Equal(expected, all.Single(vm => vm.Name == "web").Shares);
        Assert.Empty(all.Single(vm => vm.Name == "plain").Shares);

        // As Format-List and Export-Csv show the property: the -Share syntax, in order.
        Assert.Equal($"{site}:/srv/site:ro, {logs}:/var/log/app", created.Shares.ToString());
        Assert.Equal("", all.Single(vm => vm.Name == "plain").Shares.ToString());
    }
}
