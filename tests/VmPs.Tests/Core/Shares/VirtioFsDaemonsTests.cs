using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Shares;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Shares;

public sealed class VirtioFsDaemonsTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public void A_writable_share_runs_virtiofsd_itself_and_a_read_only_one_through_the_read_only_bind()
    {
        var writable = VirtioFsDaemons.CommandLine("/usr/lib/qemu/virtiofsd", new ShareSpec("vmps-share0", "/srv/a,b\\c", "/data", ReadOnly: false), "/vms/a/vmps-share0.sock");
        var readOnly = VirtioFsDaemons.CommandLine("/usr/lib/qemu/virtiofsd", new ShareSpec("vmps-share1", "/srv/b", "/view", ReadOnly: true), "/vms/a/vmps-share1.sock");

        Assert.Equal("/usr/lib/qemu/virtiofsd", writable.Program);
        // virtiofsd splits -o at commas: one in the path is escaped, and so is the escape character.
        Assert.Equal(["--socket-path=/vms/a/vmps-share0.sock", "-o", "source=/srv/a\\,b\\\\c", "-o", "cache=none", "-o", "sandbox=namespace"], writable.Arguments);
        Assert.Equal(GuestBinary.Locate(), readOnly.Program);
        Assert.Equal(
            ["bind-readonly", "/srv/b", "--", "/usr/lib/qemu/virtiofsd", "--socket-path=/vms/a/vmps-share1.sock", "-o", "source=/srv/b", "-o", "cache=none", "-o", "sandbox=namespace"],
            readOnly.Arguments);
    }

    [Fact]
    public void A_host_without_virtiofsd_gets_ExecutableNotFound_and_nothing_is_started()
    {
        var directory = Path.Combine(home.Paths.Root, "vm");
        Directory.CreateDirectory(directory);
        var spec = new VmLaunchSpec
        {
            VmName = "web",
            VmDirectory = directory,
            Cpus = 1,
            MemoryMiB = 256,
            Disks = [],
            ConsoleLogPath = Path.Combine(directory, "console.log"),
            HypervisorLogPath = Path.Combine(directory, "hypervisor.log"),
            VsockCid = 3,
            Shares = [new ShareSpec("vmps-share0", home.Paths.Root, "/data", ReadOnly: false)],
        };

        var error = Assert.Throws<VmPsException>(() => VirtioFsDaemons.Start(spec, "/dev/null", "/nonexistent/virtiofsd"));

        Assert.Equal(VmPsErrorIds.ExecutableNotFound, error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
    }
}
