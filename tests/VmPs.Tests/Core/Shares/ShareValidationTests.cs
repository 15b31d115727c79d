using VmPs.Core;
using VmPs.Core.Shares;

namespace VmPs.Tests.Core.Shares;

public sealed class ShareValidationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("vmps-shares-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData("/srv/site:/var/www", "/srv/site", "/var/www", false)]
    [InlineData("/srv/site:/var/www:ro", "/srv/site", "/var/www", true)]
    [InlineData("/srv/site:/var/www:RW", "/srv/site", "/var/www", false)]
    [InlineData("/mnt/a:b/c:/data", "/mnt/a:b/c", "/data", false)]
    [InlineData("./site:/data:ro", "./site", "/data", true)]
    public void A_share_is_read_as_host_path_guest_path_and_mode(string text, string host, string guest, bool readOnly) =>
        Assert.Equal(new ShareOptions(host, guest, readOnly), ShareValidation.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("/srv/site")]
    [InlineData("/srv/site:data")]
    [InlineData(":/data")]
    [InlineData("/srv/site:ro")]
    public void Text_that_is_no_share_is_InvalidShare(string text)
    {
        var error = Assert.Throws<VmPsException>(() => ShareValidation.Parse(text));
        Assert.Equal(VmPsErrorIds.InvalidShare, error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(text, error.Target);
    }

    [Fact]
    public void A_valid_share_keeps_the_absolute_host_directory_and_the_normalised_guest_path()
    {
        var shares = ShareValidation.Validate([new ShareOptions(root + "/", "//srv//site/", ReadOnly: true)], []);

        Assert.Equal([new ShareOptions(root, "/srv/site", true)], shares);
    }

    [Theory]
    [InlineData("missing", "/data", VmPsErrorIds.ShareHostPathNotFound, VmPsErrorKind.ObjectNotFound)]
    [InlineData("file", "/data", VmPsErrorIds.ShareHostPathNotDirectory, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "data", VmPsErrorIds.InvalidMountPath, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "/proc/x", VmPsErrorIds.ReservedMountPath, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "/sys", VmPsErrorIds.ReservedMountPath, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "/dev/shm", VmPsErrorIds.ReservedMountPath, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "/", VmPsErrorIds.InvalidMountPath, VmPsErrorKind.InvalidArgument)]
    [InlineData("dir", "/a/../proc", VmPsErrorIds.InvalidMountPath, VmPsErrorKind.InvalidArgument)]
    public void A_bad_host_or_guest_path_gets_its_own_error(string host, string guest, string errorId, VmPsErrorKind kind)
    {
        Directory.CreateDirectory(Path.Combine(root, "dir"));
        File.WriteAllText(Path.Combine(root, "file"), "");

        var error = Assert.Throws<VmPsException>(() => ShareValidation.Validate([new ShareOptions(Path.Combine(root, host), guest, false)], []));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(kind, error.Kind);
    }

    [Fact]
    public void A_relative_host_path_is_refused_rather_than_resolved_against_the_process_directory()
    {
        var error = Assert.Throws<VmPsException>(() => ShareValidation.Validate([new ShareOptions("relative", "/data", false)], []));

        Assert.Equal(VmPsErrorIds.InvalidShare, error.ErrorId);
    }

    [Fact]
    public void A_guest_path_taken_by_another_share_or_a_volume_is_DuplicateMountPath()
    {
        var twice = Assert.Throws<VmPsException>(() => ShareValidation.Validate([new ShareOptions(root, "/data", false), new ShareOptions(root, "/data/", true)], []));
        var volume = Assert.Throws<VmPsException>(() => ShareValidation.Validate([new ShareOptions(root, "/srv", false)], ["/srv/"]));

        Assert.Equal(VmPsErrorIds.DuplicateMountPath, twice.ErrorId);
        Assert.Equal("/data/", twice.Target);
        Assert.Equal(VmPsErrorIds.DuplicateMountPath, volume.ErrorId);
    }
}
