using System.Collections;
using VmPs.Core;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Vms;

public sealed class VmMetadataOptionsTests
{
    [Theory]
    [InlineData("required", MetadataHttpTokens.Required)]
    [InlineData("Optional", MetadataHttpTokens.Optional)]
    [InlineData("REQUIRED", MetadataHttpTokens.Required)]
    public void HttpTokensIsTakenInAnyCase(string value, MetadataHttpTokens expected)
    {
        Assert.Equal(expected, VmMetadataOptions.ParseHttpTokens(new Hashtable { ["httptokens"] = value }, "web"));
        Assert.Equal(expected, VmMetadataOptions.ParseHttpTokens(new Hashtable { ["HttpTokens"] = value }, "web"));
    }

    [Fact]
    public void NoOptionsAndAnEmptyTableChangeNothing()
    {
        Assert.Null(VmMetadataOptions.ParseHttpTokens(null, "web"));
        Assert.Null(VmMetadataOptions.ParseHttpTokens(new Hashtable(), "web"));
    }

    [Theory]
    [InlineData("HttpTokens", "sometimes", "must be optional or required, not 'sometimes'")]
    [InlineData("HttpTokens", "1", "must be optional or required, not '1'")]
    [InlineData("HttpTokens", null, "must be optional or required")]
    [InlineData("HttpEndpoint", "disabled", "'HttpEndpoint' is not a metadata option VmPs takes")]
    public void AnythingElseIsRefusedByName(string key, string? value, string why)
    {
        var refused = Assert.Throws<VmPsException>(() => VmMetadataOptions.ParseHttpTokens(new Hashtable { [key] = value }, "web"));

        Assert.Equal(VmPsErrorIds.MetadataOptionsInvalid, refused.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, refused.Kind);
        Assert.Equal("web", refused.Target);
        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
    }
}
