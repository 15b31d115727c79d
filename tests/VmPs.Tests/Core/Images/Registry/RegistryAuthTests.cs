using System.Text;
using VmPs.Core;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Registry;

/// <summary>Pulls against an htpasswd-protected registry: explicit credentials, docker config auths, a credential store.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BasicAuthRegistryTests(BasicAuthRegistry registry) : IClassFixture<BasicAuthRegistry>, IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("docker-registry", "htpasswd")]
    public async Task Explicit_credentials_pull()
    {
        var image = await registry.PushImageAsync("team/basic", "v1", [TestImage.LayerTar(("f", "basic"))]);

        var fetched = await Pull(registry.Reference("team/basic", "v1"), RegistryFixture.Credentials, DockerConfig.Absent(scratch));

        Assert.Equal(image.Digest, fetched.ManifestDigest);
    }

    [RequiresProgramFact("docker-registry", "htpasswd")]
    public async Task Missing_or_wrong_credentials_are_unauthorized()
    {
        await registry.PushImageAsync("team/basic-denied", "v1", [TestImage.LayerTar(("f", "x"))]);
        var reference = registry.Reference("team/basic-denied", "v1");

        var anonymous = await Assert.ThrowsAsync<VmPsException>(() => Pull(reference, null, DockerConfig.Absent(scratch)));
        var wrong = await Assert.ThrowsAsync<VmPsException>(() => Pull(reference, new RegistryCredentials(RegistryFixture.Username, "wrong"), DockerConfig.Absent(scratch)));

        Assert.Equal(("RegistryUnauthorized", VmPsErrorKind.PermissionDenied), (anonymous.ErrorId, anonymous.Kind));
        Assert.Equal("RegistryUnauthorized", wrong.ErrorId);
        Assert.DoesNotContain("wrong", wrong.Message);
    }

    [RequiresProgramFact("docker-registry", "htpasswd")]
    public async Task Credentials_come_from_the_docker_config_auths_entry()
    {
        var image = await registry.PushImageAsync("team/basic-config", "v1", [TestImage.LayerTar(("f", "config"))]);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.Username}:{RegistryFixture.Password}"));
        var config = DockerConfig.Write(scratch, $$"""{"auths": {"http://{{registry.Host}}/v2/": {"auth": "{{auth}}" }, "other.example": {"auth": "eDp5"} } }""");

        var fetched = await Pull(registry.Reference("team/basic-config", "v1"), null, config);

        Assert.Equal(image.Digest, fetched.ManifestDigest);
    }

    [RequiresProgramFact("docker-registry", "htpasswd")]
    public async Task Credentials_come_from_the_docker_config_credential_store()
    {
        var image = await registry.PushImageAsync("team/basic-store", "v1", [TestImage.LayerTar(("f", "store"))]);
        using var helper = new CredentialHelperScript(registry.Host);
        var config = DockerConfig.Write(scratch, $$"""{"credsStore": "{{helper.Name}}"}""");

        var fetched = await Pull(registry.Reference("team/basic-store", "v1"), null, config);

        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Equal([registry.Host], helper.ServersAsked());
    }

    private Task<FetchedImage> Pull(ImageReference reference, RegistryCredentials? credentials, DockerConfigCredentials dockerConfig) =>
        new RegistryImageSource(reference, credentials, OciPlatform.Default, insecure: false, dockerConfig, handlerFactory: null)
            .FetchAsync(new BlobCache(new VmPsPaths(scratch.Path)), null, CancellationToken.None);
}

/// <summary>Pulls against a token-auth registry: anonymous tokens, tokens for credentials, credential helpers.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TokenAuthRegistryTests(TokenAuthRegistry registry) : IClassFixture<TokenAuthRegistry>, IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("docker-registry")]
    public async Task Anonymous_token_pulls_a_public_repository()
    {
        var image = await registry.PushImageAsync("public/app", "v1", [TestImage.LayerTar(("f", "public"))]);

        var fetched = await Pull(registry.Reference("public/app", "v1"), null, DockerConfig.Absent(scratch));

        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Contains(new TokenRequest(null, "repository:public/app:pull", Granted: true), registry.TokenServer!.Requests);
    }

    [RequiresProgramFact("docker-registry")]
    public async Task A_private_repository_needs_credentials_for_its_token()
    {
        var image = await registry.PushImageAsync("team/private", "v1", [TestImage.LayerTar(("f", "private"))]);
        var reference = registry.Reference("team/private", "v1");

        var anonymous = await Assert.ThrowsAsync<VmPsException>(() => Pull(reference, null, DockerConfig.Absent(scratch)));
        var wrong = await Assert.ThrowsAsync<VmPsException>(() => Pull(reference, new RegistryCredentials(RegistryFixture.Username, "wrong"), DockerConfig.Absent(scratch)));
        var fetched = await Pull(reference, RegistryFixture.Credentials, DockerConfig.Absent(scratch));

        Assert.Equal("RegistryUnauthorized", anonymous.ErrorId);
        Assert.Equal("RegistryUnauthorized", wrong.ErrorId);
        Assert.Contains("token service", wrong.Message);
        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Contains(new TokenRequest(RegistryFixture.Username, "repository:team/private:pull", Granted: true), registry.TokenServer!.Requests);
    }

    [RequiresProgramFact("docker-registry")]
    public async Task A_credential_helper_named_for_the_registry_supplies_the_credentials()
    {
        var image = await registry.PushImageAsync("team/helper", "v1", [TestImage.LayerTar(("f", "helper"))]);
        using var helper = new CredentialHelperScript(registry.Host);
        var config = DockerConfig.Write(scratch, $$"""{"auths": {"{{registry.Host}}": { } }, "credHelpers": {"{{registry.Host}}": "{{helper.Name}}"} }""");

        var fetched = await Pull(registry.Reference("team/helper", "v1"), null, config);

        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Equal([registry.Host], helper.ServersAsked());
    }

    private Task<FetchedImage> Pull(ImageReference reference, RegistryCredentials? credentials, DockerConfigCredentials dockerConfig) =>
        new RegistryImageSource(reference, credentials, OciPlatform.Default, insecure: false, dockerConfig, handlerFactory: null)
            .FetchAsync(new BlobCache(new VmPsPaths(scratch.Path)), null, CancellationToken.None);
}

internal static class DockerConfig
{
    public static DockerConfigCredentials Absent(ScratchDirectory scratch) => new(scratch.Combine("absent-docker-config.json"));

    public static DockerConfigCredentials Write(ScratchDirectory scratch, string json)
    {
        var path = scratch.Combine("docker-config.json");
        File.WriteAllText(path, json);
        return new DockerConfigCredentials(path);
    }
}
