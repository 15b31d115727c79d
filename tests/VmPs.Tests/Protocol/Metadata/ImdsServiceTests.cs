using System.Text.Json;
using VmPs.Protocol.Metadata;

namespace VmPs.Tests.Protocol.Metadata;

public sealed class ImdsServiceTests
{
    private static readonly InstanceMetadata Sample = new()
    {
        InstanceId = "i-0123456789abcdef0",
        Hostname = "web1",
        AvailabilityZone = "vmps-local-a",
        Region = "vmps-local",
        ImageId = "alpine",
        LocalIpv4 = "10.100.0.2",
        MacAddress = "02:76:6D:00:00:01",
        PublicKeys = ["ssh-ed25519 AAAAC3Nza user@host"],
        UserData = "#!/bin/sh\necho hi\n",
    };

    private readonly ManualClock clock = new();

    private static ImdsRequest Get(string path, string? token = null) => new("GET", path, token, null, Forwarded: false, KeepAlive: true);

    private static ImdsRequest PutToken(string? ttl, bool forwarded = false) => new("PUT", "/latest/api/token", null, ttl, forwarded, KeepAlive: true);

    [Theory]
    [InlineData("/latest/meta-data/instance-id", "i-0123456789abcdef0")]
    [InlineData("/latest/meta-data/hostname", "web1")]
    [InlineData("/latest/meta-data/local-hostname", "web1")]
    [InlineData("/latest/meta-data/local-ipv4", "10.100.0.2")]
    [InlineData("/latest/meta-data/mac", "02:76:6d:00:00:01")]
    [InlineData("/latest/meta-data/placement/availability-zone", "vmps-local-a")]
    [InlineData("/latest/meta-data/public-keys/0/openssh-key", "ssh-ed25519 AAAAC3Nza user@host")]
    [InlineData("/latest/meta-data/public-keys/", "0=key0")]
    [InlineData("/latest/meta-data/network/interfaces/macs/", "02:76:6d:00:00:01/")]
    [InlineData("/latest/meta-data/network/interfaces/macs/02:76:6d:00:00:01/local-ipv4s", "10.100.0.2")]
    [InlineData("/latest/meta-data/placement", "availability-zone\nregion")]
    [InlineData("/latest/user-data", "#!/bin/sh\necho hi\n")]
    [InlineData("/latest/", "dynamic/\nmeta-data/\nuser-data")]
    [InlineData("/", "latest")]
    public void ServesTheTreeWithoutATokenWhenTokensAreOptional(string path, string expected)
    {
        var response = new ImdsService(Sample, clock).Handle(Get(path));

        Assert.Equal(200, response.Status);
        Assert.Equal(expected, response.Body);
    }

    [Fact]
    public void ListsMetaDataWithDirectoriesMarked()
    {
        var body = new ImdsService(Sample, clock).Handle(Get("/latest/meta-data/")).Body.Split('\n');

        Assert.Equal(["ami-id", "hostname", "instance-id", "local-hostname", "local-ipv4", "mac", "network/", "placement/", "public-keys/"], body);
    }

    [Fact]
    public void TheIdentityDocumentIsJson()
    {
        var response = new ImdsService(Sample, clock).Handle(Get("/latest/dynamic/instance-identity/document"));

        Assert.Equal("application/json", response.ContentType);
        using var document = JsonDocument.Parse(response.Body);
        Assert.Equal("i-0123456789abcdef0", document.RootElement.GetProperty("instanceId").GetString());
        Assert.Equal("10.100.0.2", document.RootElement.GetProperty("privateIp").GetString());
        Assert.Equal("vmps-local", document.RootElement.GetProperty("region").GetString());
    }

    [Fact]
    public void WithoutNetworkOrUserDataThosePathsAre404()
    {
        var service = new ImdsService(new InstanceMetadata { InstanceId = "i-0", Hostname = "a" }, clock);

        Assert.Equal(404, service.Handle(Get("/latest/user-data")).Status);
        Assert.Equal(404, service.Handle(Get("/latest/meta-data/local-ipv4")).Status);
        Assert.Equal(404, service.Handle(Get("/latest/meta-data/public-keys/0/openssh-key")).Status);
    }

    [Theory]
    [InlineData("/latest/meta-data/nope")]
    [InlineData("/latest/meta-data/instance-id/")]
    [InlineData("/2009-04-04/meta-data/")]
    [InlineData("/latest/api")]
    public void UnknownPathsAre404(string path) =>
        Assert.Equal(404, new ImdsService(Sample, clock).Handle(Get(path)).Status);

    [Theory]
    [InlineData("POST", "/latest/meta-data/")]
    [InlineData("DELETE", "/latest/meta-data/instance-id")]
    [InlineData("PUT", "/latest/meta-data/instance-id")]
    [InlineData("GET", "/latest/api/token")]
    [InlineData("POST", "/latest/api/token")]
    public void OtherMethodsAre405(string method, string path) =>
        Assert.Equal(405, new ImdsService(Sample, clock).Handle(new ImdsRequest(method, path, null, "60", false, true)).Status);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("21601")]
    [InlineData("-5")]
    [InlineData("1e3")]
    [InlineData("999999999999")]
    public void ATokenTtlOutside1To21600Is400(string? ttl) =>
        Assert.Equal(400, new ImdsService(Sample, clock).Handle(PutToken(ttl)).Status);

    [Fact]
    public void ATokenPutThroughAProxyIs403() =>
        Assert.Equal(403, new ImdsService(Sample, clock).Handle(PutToken("60", forwarded: true)).Status);

    [Fact]
    public void ATokenWorksUntilItsTtlEnds()
    {
        var service = new ImdsService(Sample, clock);
        var issued = service.Handle(PutToken("21600"));
        Assert.Equal(200, issued.Status);
        Assert.Equal(21600, issued.TokenTtlSeconds);

        clock.Advance(TimeSpan.FromSeconds(21599));
        var used = service.Handle(Get("/latest/meta-data/instance-id", issued.Body));
        Assert.Equal(200, used.Status);
        Assert.Equal(1, used.TokenTtlSeconds);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(401, service.Handle(Get("/latest/meta-data/instance-id", issued.Body)).Status);
    }

    [Fact]
    public void AnUnknownTokenIs401EvenWhenTokensAreOptional() =>
        Assert.Equal(401, new ImdsService(Sample, clock).Handle(Get("/latest/meta-data/", "forged")).Status);

    [Fact]
    public void RequiredTokensRefuseV1With401AndServeV2()
    {
        var service = new ImdsService(Sample with { TokensRequired = true }, clock);

        Assert.Equal(401, service.Handle(Get("/latest/meta-data/instance-id")).Status);
        var token = service.Handle(PutToken("60")).Body;
        Assert.Equal("i-0123456789abcdef0", service.Handle(Get("/latest/meta-data/instance-id", token)).Body);
    }

    [Fact]
    public void AppliedMetadataIsServedFromTheNextRequestAndIssuedTokensStayValid()
    {
        var service = new ImdsService(Sample, clock);
        var token = service.Handle(PutToken("60")).Body;

        service.Apply(Sample with { InstanceId = "i-00000000000000fork", Hostname = "fork1", UserData = null, TokensRequired = true });

        Assert.Equal(401, service.Handle(Get("/latest/meta-data/instance-id")).Status);
        Assert.Equal("i-00000000000000fork", service.Handle(Get("/latest/meta-data/instance-id", token)).Body);
        Assert.Equal("fork1", service.Handle(Get("/latest/meta-data/hostname", token)).Body);
        Assert.Equal(404, service.Handle(Get("/latest/user-data", token)).Status);
    }

    [Fact]
    public void TokensAreBoundedByDisplacingTheNearestExpiry()
    {
        var tokens = new ImdsTokens(clock);
        var shortLived = tokens.Issue(1);
        var longLived = tokens.Issue(ImdsTokens.MaxTtlSeconds);
        for (var i = 0; i < ImdsTokens.MaxTokens - 1; i++)
        {
            tokens.Issue(100);
        }

        Assert.Null(tokens.RemainingSeconds(shortLived));
        Assert.Equal(ImdsTokens.MaxTtlSeconds, tokens.RemainingSeconds(longLived));
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => now;

    public void Advance(TimeSpan by) => now += by;
}
