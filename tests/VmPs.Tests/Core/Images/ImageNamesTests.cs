using VmPs.Core;
using VmPs.Core.Images;

namespace VmPs.Tests.Core.Images;

public sealed class ImageNamesTests
{
    [Theory]
    [InlineData("docker.io/library/alpine:3.20", "alpine:3.20")]
    [InlineData("127.0.0.1:5000/team/app:v1", "app:v1")]
    [InlineData("127.0.0.1:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "app@sha256-0123456789ab")]
    [InlineData("127.0.0.1:5000/team/app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "app:v1")]
    [InlineData("/srv/layouts/web:2", "web:2")]
    [InlineData("/tmp/saved image.tar", "saved-image.tar")]
    public void DefaultNamesAreTheRepositorysLastComponentWithItsTag(string reference, string expected)
    {
        Assert.Equal(expected, ImageNames.DefaultFor(reference));
        ImageNames.Validate(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("a/b")]
    public void InvalidNamesAreRejected(string name)
    {
        var error = Assert.Throws<VmPsException>(() => ImageNames.Validate(name));
        Assert.Equal("InvalidImageName", error.ErrorId);
    }
}
