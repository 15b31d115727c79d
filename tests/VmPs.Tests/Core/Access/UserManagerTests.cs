using Microsoft.Data.Sqlite;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Access;

/// <summary>Users, keys, tokens and grants in a scratch state database; keys made by the real ssh-keygen.</summary>
public sealed class UserManagerTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresProgramFact("ssh-keygen")]
    public async Task The_validations_behind_WhatIf_find_the_errors_of_the_real_call_and_change_nothing()
    {
        var (publicKey, fingerprint) = await TestSshKeys.NewAsync(scratch, "alice-laptop");
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var users = Manager();
        var alice = new VmUserCreateOptions { Name = "alice", Email = "alice@example.test", SshPublicKeys = [publicKey] };

        await users.ValidateCreateAsync(alice, CancellationToken.None);
        Assert.Null(await users.FindAsync("alice"));
        await users.CreateAsync(alice, CancellationToken.None);
        await users.CreateAsync(new VmUserCreateOptions { Name = "bob", Email = "bob@example.test" }, CancellationToken.None);
        await new VmStore(database).InsertAsync(StoreFixtures.Vm("web") with { Owner = "alice" }, CancellationToken.None);

        Assert.Equal("UserEmailInUse", (await Assert.ThrowsAsync<VmPsException>(() =>
            users.ValidateCreateAsync(new VmUserCreateOptions { Name = "carol", Email = "BOB@example.test" }, CancellationToken.None))).ErrorId);
        Assert.Equal("UserNameInUse", (await Assert.ThrowsAsync<VmPsException>(() =>
            users.ValidateSetAsync("bob", new VmUserSetOptions { NewName = "Alice" }, CancellationToken.None))).ErrorId);
        await users.ValidateSetAsync("bob", new VmUserSetOptions { NewName = "robert" }, CancellationToken.None);
        Assert.Equal(fingerprint, await users.ValidateRemoveKeyAsync("alice", publicKey, CancellationToken.None));
        Assert.Equal("SshKeyNotFound", (await Assert.ThrowsAsync<VmPsException>(() => users.ValidateRemoveKeyAsync("bob", fingerprint, CancellationToken.None))).ErrorId);
        Assert.Equal("VmAccessToOwner", (await Assert.ThrowsAsync<VmPsException>(() => users.ValidateGrantAccessAsync("web", "alice", CancellationToken.None))).ErrorId);
        Assert.Equal("bob", (await users.ValidateGrantAccessAsync("WEB", "BOB", CancellationToken.None)).User);
        Assert.Equal("VmAccessNotFound", (await Assert.ThrowsAsync<VmPsException>(() => users.ValidateRevokeAccessAsync("web", "bob", CancellationToken.None))).ErrorId);
        Assert.Equal("InvalidQuota", (await Assert.ThrowsAsync<VmPsException>(() =>
            users.ValidateSetQuotaAsync("bob", new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxVms] = -1 }, CancellationToken.None))).ErrorId);

        var bob = await users.GetAsync("bob", CancellationToken.None);
        Assert.Empty(bob.SharedVms);
        Assert.Single((await users.GetAsync("alice", CancellationToken.None)).SshKeys);
    }

    [RequiresProgramFact("ssh-keygen")]
    public async Task A_users_key_is_stored_under_the_fingerprint_ssh_keygen_gives_it_and_names_one_user()
    {
        var (publicKey, fingerprint) = await TestSshKeys.NewAsync(scratch, "alice-laptop");
        var users = Manager();

        var alice = await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test", SshPublicKeys = [publicKey] }, CancellationToken.None);
        var taken = await Assert.ThrowsAsync<VmPsException>(() =>
            users.CreateAsync(new VmUserCreateOptions { Name = "bob", Email = "bob@example.test", SshPublicKeys = [publicKey] }, CancellationToken.None));

        var key = Assert.Single(alice.SshKeys);
        Assert.Equal(fingerprint, key.Fingerprint);
        Assert.Equal("alice-laptop", key.Comment);
        Assert.Equal(publicKey.Split(' ')[..2], key.PublicKey.Split(' '));
        Assert.Equal("alice", (await users.FindByKeyAsync(fingerprint, CancellationToken.None))!.Name);
        Assert.Equal("SshKeyInUse", taken.ErrorId);
        Assert.Null(await users.FindAsync("bob"));

        await users.RemoveKeyAsync("ALICE", fingerprint, CancellationToken.None);
        Assert.Empty((await users.GetAsync("alice", CancellationToken.None)).SshKeys);
        Assert.Null(await users.FindByKeyAsync(fingerprint, CancellationToken.None));
    }

    [Theory]
    [InlineData("command=\"sh\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3Wc2bsBNMuvuPpLJ45fk5qFDnAGDMXTkTS8rWigLH1")]
    [InlineData("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIO3Wc2bsBNMuvuPpLJ45fk5qFDnAGDMXTkTS8rWigLH1")]
    [InlineData("ssh-ed25519 not-base64!")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3Wc2bsBNMuvuPpLJ45fk5qFDnAGDMXTkTS8rWigLH1\nssh-ed25519 AAAA")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3Wc2bsBNMuvuPpLJ45fk5qFDnAGDMXTkTS8rWigLH1 a\u0007bell")]
    public async Task Keys_with_options_a_wrong_type_bad_data_two_lines_or_control_characters_are_refused(string key)
    {
        var users = Manager();

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test", SshPublicKeys = [key] }, CancellationToken.None));

        Assert.Equal("InvalidSshPublicKey", error.ErrorId);
        Assert.Empty(await users.GetAllAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("alice", "alice", "InvalidEmail")]
    [InlineData("alice", "alice@example.test\r\nX-VmPs-User: root", "InvalidEmail")]
    [InlineData("alice", "\"a b\"@example.test", "InvalidEmail")]
    [InlineData("al ice", "alice@example.test", "InvalidUserName")]
    [InlineData("-alice", "alice@example.test", "InvalidUserName")]
    public async Task Names_and_addresses_that_could_break_a_header_or_a_login_are_refused(string name, string email, string errorId)
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            Manager().CreateAsync(new VmUserCreateOptions { Name = name, Email = email }, CancellationToken.None));

        Assert.Equal(errorId, error.ErrorId);
    }

    [Fact]
    public async Task Names_and_addresses_are_unique_whatever_their_case()
    {
        var users = Manager();
        await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test" }, CancellationToken.None);

        var name = await Assert.ThrowsAsync<VmPsException>(() =>
            users.CreateAsync(new VmUserCreateOptions { Name = "ALICE", Email = "other@example.test" }, CancellationToken.None));
        var email = await Assert.ThrowsAsync<VmPsException>(() =>
            users.CreateAsync(new VmUserCreateOptions { Name = "bob", Email = "Alice@Example.test" }, CancellationToken.None));
        var renamed = await users.SetAsync("alice", new VmUserSetOptions { NewName = "alicia", Email = "alicia@example.test" }, CancellationToken.None);

        Assert.Equal("UserNameInUse", name.ErrorId);
        Assert.Equal("UserEmailInUse", email.ErrorId);
        Assert.Equal(("alicia", "alicia@example.test"), (renamed.Name, renamed.Email));
        Assert.Equal("UserNotFound", (await Assert.ThrowsAsync<VmPsException>(() => users.GetAsync("alice", CancellationToken.None))).ErrorId);
    }

    [Fact]
    public async Task A_token_authenticates_its_user_and_only_its_hash_is_stored()
    {
        var users = Manager();
        await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test" }, CancellationToken.None);

        var token = await users.NewTokenAsync("alice", CancellationToken.None);

        Assert.StartsWith(UserManager.TokenPrefix, token.Token);
        Assert.Equal("alice", (await users.AuthenticateTokenAsync(token.Token, CancellationToken.None))!.Name);
        Assert.Null(await users.AuthenticateTokenAsync(token.Token[..^1] + (token.Token[^1] == 'A' ? 'B' : 'A'), CancellationToken.None));
        Assert.Null(await users.AuthenticateTokenAsync("", CancellationToken.None));
        Assert.Equal(1, (await users.GetAsync("alice", CancellationToken.None)).TokenCount);
        await using var connection = new SqliteConnection($"Data Source={home.Paths.StateDatabase};Pooling=False");
        await connection.OpenAsync();
        var stored = await connection.Command("SELECT token_hash FROM user_tokens").ListAsync(reader => reader.GetString(0), CancellationToken.None);
        Assert.Equal([UserManager.HashToken(token.Token)], stored);
        Assert.DoesNotContain(token.Token, await File.ReadAllTextAsync(home.Paths.StateDatabase + "-wal"));
    }

    [Fact]
    public async Task A_grant_lets_another_user_reach_the_vm_until_it_is_revoked_and_an_owner_cannot_be_removed()
    {
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var users = Manager();
        var alice = await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test" }, CancellationToken.None);
        var bob = await users.CreateAsync(new VmUserCreateOptions { Name = "bob", Email = "bob@example.test" }, CancellationToken.None);
        await new VmStore(database).InsertAsync(StoreFixtures.Vm("web") with { Owner = "alice" }, CancellationToken.None);

        Assert.True(await users.CanAccessAsync(alice, "web", CancellationToken.None));
        Assert.False(await users.CanAccessAsync(bob, "web", CancellationToken.None));
        var toOwner = await Assert.ThrowsAsync<VmPsException>(() => users.GrantAccessAsync("web", "alice", CancellationToken.None));
        await users.GrantAccessAsync("web", "bob", CancellationToken.None);
        Assert.True(await users.CanAccessAsync(bob, "WEB", CancellationToken.None));
        Assert.Equal(["web"], (await users.GetAsync("bob", CancellationToken.None)).SharedVms);
        await users.RevokeAccessAsync("web", "bob", CancellationToken.None);
        Assert.False(await users.CanAccessAsync(bob, "web", CancellationToken.None));
        var notShared = await Assert.ThrowsAsync<VmPsException>(() => users.RevokeAccessAsync("web", "bob", CancellationToken.None));
        var owns = await Assert.ThrowsAsync<VmPsException>(() => users.RemoveAsync("alice", CancellationToken.None));
        await users.RemoveAsync("bob", CancellationToken.None);

        Assert.Equal("VmAccessToOwner", toOwner.ErrorId);
        Assert.Equal("VmAccessNotFound", notShared.ErrorId);
        Assert.Equal("UserOwnsResources", owns.ErrorId);
        Assert.Contains("VM 'web'", owns.Message);
        Assert.Equal(["alice"], (await users.GetAllAsync(CancellationToken.None)).Select(user => user.Name));
    }

    private UserManager Manager() => new(new StateDatabase(home.Paths.StateDatabase));
}

internal static class UserManagerExtensions
{
    public static async Task<VmUser?> FindAsync(this UserManager users, string name)
    {
        try
        {
            return await users.GetAsync(name, CancellationToken.None);
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.UserNotFound)
        {
            return null;
        }
    }
}
