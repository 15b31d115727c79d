using VmPs.Core.Access;
using VmPs.Tests.Core.Access;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.PowerShell.Commands;

namespace VmPs.Tests.Core.SshGateway;

/// <summary>
/// The authorized_keys lines the gateway's keys program prints, from a scratch state database and keys made by
/// ssh-keygen: what ssh -J may open (permitopen) for each login, and the hosts file that resolves the names.
/// </summary>
public sealed class SshGatewayKeysTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresProgramFact("ssh-keygen")]
    public async Task A_key_opens_port_22_of_the_VMs_its_login_may_reach_by_address_and_name_and_nothing_else()
    {
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var users = new UserManager(new StateDatabase(home.Paths.StateDatabase));
        var (alicePublic, alice) = await TestSshKeys.NewAsync(scratch, "alice");
        var (bobPublic, bob) = await TestSshKeys.NewAsync(scratch, "bob");
        var (_, stranger) = await TestSshKeys.NewAsync(scratch, "mallory");
        await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test", SshPublicKeys = [alicePublic] }, CancellationToken.None);
        await users.CreateAsync(new VmUserCreateOptions { Name = "bob", Email = "bob@example.test", SshPublicKeys = [bobPublic] }, CancellationToken.None);
        var store = new VmStore(database);
        foreach (var (name, owner) in new[] { ("web", "alice"), ("10.100.0.9", "alice"), ("offline", "alice"), ("Db", "bob"), ("cache", "bob") })
        {
            await store.InsertAsync(StoreFixtures.Vm(name) with { Owner = owner }, CancellationToken.None);
        }

        await users.GrantAccessAsync("Db", "alice", CancellationToken.None);
        var vms = new FakeVmManager();
        foreach (var (name, owner, address) in new[] { ("web", "alice", "10.100.0.2"), ("10.100.0.9", "alice", "10.100.0.3"), ("offline", "alice", null), ("Db", "bob", "10.100.0.4"), ("cache", "bob", "10.100.0.9") })
        {
            vms.Add(name, VmState.Running, owner, address);
        }

        var list = vms.GetAllAsync;

        // vmps: every VM alice owns or was given, by address and by (lowered) name; a name that reads as an address
        // (bob's cache is 10.100.0.9) only by its own address, and a VM without an address not at all.
        var command = await SshGatewayKeys.AuthorizedKeyAsync(users, list, SshGatewayKeys.CommandAccount, alice, CancellationToken.None);
        Assert.Equal(
            ["restrict", "pty", "port-forwarding", "permitopen=\"10.100.0.3:22\"", "permitopen=\"10.100.0.4:22\"", "permitopen=\"db:22\"",
                "permitopen=\"10.100.0.2:22\"", "permitopen=\"web:22\""],
            Options(command));
        Assert.EndsWith(alicePublic.Split(' ')[1], command, StringComparison.Ordinal);

        // The user's own name is her command account (a bare ssh -J HOST:2222 logs in with the client's local name),
        // for her key only; a VM of that name she may reach would win.
        Assert.Equal(Options(command), Options(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "alice", alice, CancellationToken.None)));
        Assert.Equal(SshGatewayLogin.Commands, await SshGatewayKeys.ResolveLoginAsync(users, await users.GetAsync("alice", CancellationToken.None), "alice", CancellationToken.None));
        Assert.Null(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "alice", bob, CancellationToken.None));
        Assert.Null(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "Alice", alice, CancellationToken.None));
        await store.InsertAsync(StoreFixtures.Vm("bob") with { Owner = "bob" }, CancellationToken.None);
        Assert.Equal(SshGatewayLogin.Vm, await SshGatewayKeys.ResolveLoginAsync(users, await users.GetAsync("bob", CancellationToken.None), "bob", CancellationToken.None));

        // A VM's login opens that VM only; a VM that is not the user's gets no line, nor does an unknown key.
        Assert.Equal(["restrict", "pty", "port-forwarding", "permitopen=\"10.100.0.4:22\"", "permitopen=\"db:22\""], Options(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "db", alice, CancellationToken.None)));
        Assert.Null(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "web", bob, CancellationToken.None));
        Assert.Null(await SshGatewayKeys.AuthorizedKeyAsync(users, list, SshGatewayKeys.CommandAccount, stranger, CancellationToken.None));

        // Nothing to open: no port-forwarding at all, since without permitopen it would open anything.
        Assert.Equal(["restrict", "pty"], Options(await SshGatewayKeys.AuthorizedKeyAsync(users, list, "offline", alice, CancellationToken.None)));

        Assert.Equal(
            ["10.100.0.9 cache", "10.100.0.4 db", "10.100.0.2 web"],
            SshGatewayTargets.Hosts(await vms.GetAllAsync(CancellationToken.None)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.StartsWith('#')));
    }

    /// <summary>The options of an authorized_keys line, the forced command left out.</summary>
    private static List<string> Options(string? line)
    {
        Assert.NotNull(line);
        return [.. line[..line.IndexOf(",command=", StringComparison.Ordinal)].Split(',')];
    }
}
