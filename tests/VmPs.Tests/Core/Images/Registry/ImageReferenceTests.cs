using VmPs.Core;
using VmPs.Core.Images.Registry;

namespace VmPs.Tests.Core.Images.Registry;

public sealed class ImageReferenceTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("alpine", "docker.io", "library/alpine", "latest", null)]
    [InlineData("alpine:3.20", "docker.io", "library/alpine", "3.20", null)]
    [InlineData("docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", null)]
    [InlineData("docker.io/nginx", "docker.io", "library/nginx", "latest", null)]
    [InlineData("index.docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", null)]
    [InlineData("bitnami/redis:7", "docker.io", "bitnami/redis", "7", null)]
    [InlineData("ghcr.io/owner/tool:v1.2.3", "ghcr.io", "owner/tool", "v1.2.3", null)]
    [InlineData("localhost/app", "localhost", "app", "latest", null)]
    [InlineData("localhost:5000/a/b/c:x_y", "localhost:5000", "a/b/c", "x_y", null)]
    [InlineData("127.0.0.1:5000/team/app@" + Digest, "127.0.0.1:5000", "team/app", null, Digest)]
    [InlineData("127.0.0.1:5000/team/app:v1@" + Digest, "127.0.0.1:5000", "team/app", "v1", Digest)]
    [InlineData("[::1]:5000/my-app__x.y:1", "[::1]:5000", "my-app__x.y", "1", null)]
    public void Parses_and_normalizes_like_docker(string text, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(new ImageReference(registry, repository, tag, digest), reference);
        Assert.Equal(digest ?? tag, reference.ManifestReference);
    }

    [Fact]
    public void Prints_the_normalized_form()
    {
        Assert.Equal("docker.io/library/alpine:3.20", ImageReference.Parse("alpine:3.20").ToString());
        Assert.Equal($"127.0.0.1:5000/team/app:v1@{Digest}", ImageReference.Parse($"127.0.0.1:5000/team/app:v1@{Digest}").ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("Alpine:3.20")]
    [InlineData("Team/app")]
    [InlineData("alpine:")]
    [InlineData("alpine:3.20:x")]
    [InlineData("alpine@sha256:abc")]
    [InlineData("alpine@md5:0123456789abcdef0123456789abcdef")]
    [InlineData("registry.example.com/")]
    [InlineData("a//b")]
    [InlineData("-app")]
    [InlineData("app-")]
    [InlineData("app:-tag")]
    [InlineData("with space")]
    [InlineData("../etc/passwd")]
    public void Rejects_bad_references_with_a_specific_error(string text)
    {
        var error = Assert.Throws<VmPsException>(() => ImageReference.Parse(text));

        Assert.Equal("ImageReferenceInvalid", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
        Assert.Contains($"'{text}'", error.Message);
    }
}
