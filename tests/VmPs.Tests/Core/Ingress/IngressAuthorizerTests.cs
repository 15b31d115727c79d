using System.Text;
using VmPs.Core.Ingress;

namespace VmPs.Tests.Core.Ingress;

/// <summary>How the token checker reads an Authorization header; the checker's answers are tested end to end in VmIngress.Tests.ps1.</summary>
public sealed class IngressAuthorizerTests
{
    [Theory]
    [InlineData("Bearer vmps_abc", null, "vmps_abc")]
    [InlineData("bearer  vmps_abc ", null, "vmps_abc")]
    public void A_bearer_token_is_read_without_a_user_name(string header, string? userName, string token) =>
        Assert.Equal((userName, token), IngressAuthorizer.ParseCredentials(header));

    [Fact]
    public void Basic_auth_gives_the_user_name_and_the_token_as_its_password()
    {
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:vmps_a:b"));
        Assert.Equal(("alice", "vmps_a:b"), IngressAuthorizer.ParseCredentials(header));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Digest vmps_abc")]
    [InlineData("Basic not*base64")]
    [InlineData("Basic YWxpY2U=")] // "alice": no password
    [InlineData("Basic OnZtcHNfYWJj")] // ":vmps_abc": no user name
    [InlineData("Basic /w==")] // not UTF-8
    public void Anything_else_carries_no_credentials(string? header) =>
        Assert.Null(IngressAuthorizer.ParseCredentials(header));

    [Fact]
    public void A_header_longer_than_the_limit_is_refused_unread() =>
        Assert.Null(IngressAuthorizer.ParseCredentials("Bearer vmps_" + new string('a', IngressAuthorizer.MaxAuthorizationLength)));

    [Theory]
    [InlineData("X-VmPs-User", "X-Vmps-User")]
    [InlineData("X-VmPs-Email", "X-Vmps-Email")]
    public void Caddy_names_response_header_placeholders_in_Go_canonical_form(string header, string canonical) =>
        Assert.Equal(canonical, CaddyConfig.CanonicalHeaderName(header));
}
