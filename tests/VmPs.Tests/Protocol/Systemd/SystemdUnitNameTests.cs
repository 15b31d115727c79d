using VmPs.Core.Processes;
using VmPs.Protocol.Systemd;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Systemd;

public sealed class SystemdUnitNameTests
{
    /// <summary>Paths whose names exercise every rule: '-' and '\' escaped, ':' '_' '.' kept, a leading '.' escaped, UTF-8 bytes, blanks and '%'.</summary>
    public static TheoryData<string> OddPaths => ["/srv/data", "/srv/my-data", "/.hidden/x", "/a/.b", "/srv/a b", "/srv/ü", "/a:b_c.d", @"/a\b", "/x%y", "/a~b", "/"];

    [Theory]
    [InlineData("/srv/data", "srv-data.mount")]
    [InlineData("/srv/my-data", @"srv-my\x2ddata.mount")]
    [InlineData("/.hidden/x", @"\x2ehidden-x.mount")]
    [InlineData("/a/.b", "a-.b.mount")]
    [InlineData("/srv/a b", @"srv-a\x20b.mount")]
    [InlineData("/srv/ü", @"srv-\xc3\xbc.mount")]
    [InlineData("/a:b_c.d", "a:b_c.d.mount")]
    [InlineData(@"/a\b", @"a\x5cb.mount")]
    [InlineData("/x%y", @"x\x25y.mount")]
    [InlineData("/", "-.mount")]
    public void APathIsEscapedAsSystemdEscapesIt(string path, string name)
    {
        Assert.Equal(name, SystemdUnitName.FromPath(path, ".mount"));
    }

    [RequiresProgramTheory("systemd-escape")]
    [MemberData(nameof(OddPaths))]
    public async Task TheNameIsTheOneSystemdEscapeGives(string path)
    {
        var escaped = await ExternalTool.RunCheckedAsync("systemd-escape", ["--path", "--suffix=mount", path], CancellationToken.None);

        Assert.Equal(escaped.StandardOutput.TrimEnd('\n'), SystemdUnitName.FromPath(path, ".mount"));
    }

    [Theory]
    [InlineData("srv/data")]
    [InlineData("/srv//data")]
    [InlineData("/srv/data/")]
    [InlineData("/srv/../etc")]
    [InlineData("/srv/./data")]
    [InlineData("")]
    public void APathThatIsNotAbsoluteAndNormalisedIsRefused(string path)
    {
        Assert.Throws<ArgumentException>(() => SystemdUnitName.FromPath(path, ".mount"));
    }
}
