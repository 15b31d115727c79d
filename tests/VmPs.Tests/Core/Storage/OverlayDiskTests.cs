using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

public sealed class OverlayDiskTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [RequiresProgramFact("mkfs.ext4", "dumpe2fs")]
    public async Task OverlayDiskIsASparseExt4FileOfTheRequestedSize()
    {
        var path = Path.Combine(home.Paths.Root, "overlay.ext4");

        await OverlayDisk.CreateAsync(path, DiskImageFormat.Raw, 2, CancellationToken.None);

        Assert.Equal(2L * 1024 * 1024 * 1024, new FileInfo(path).Length);
        var allocatedBytes = long.Parse((await ExternalTool.RunCheckedAsync("stat", ["-c", "%b*%B", path], CancellationToken.None))
            .StandardOutput.Split('*')[0], System.Globalization.CultureInfo.InvariantCulture) * 512;
        Assert.True(allocatedBytes < 256L * 1024 * 1024, $"{allocatedBytes} bytes allocated: not sparse");

        var superblock = (await ExternalTool.RunCheckedAsync("dumpe2fs", ["-h", path], CancellationToken.None)).StandardOutput;
        Assert.Matches(@"Filesystem volume name:\s+vmps-overlay", superblock);
        Assert.Matches(@"Filesystem state:\s+clean", superblock);
        Assert.Contains("extent", superblock);
    }

    [Fact]
    public async Task FailedFormatRemovesTheFile()
    {
        var path = Path.Combine(home.Paths.Root, "overlay.ext4");

        var error = await Assert.ThrowsAsync<VmPsException>(() => OverlayDisk.CreateAsync(path, DiskImageFormat.Raw, 1, CancellationToken.None, mkfsProgram: "/bin/false"));

        Assert.Equal("ExternalToolFailed", error.ErrorId);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void MissingToolNamesItsPackage()
    {
        var error = Assert.Throws<VmPsException>(() =>
            HostTools.Require(new HostToolDefinition("mkfs.nothing", "nothing-utils", "formats nothing", null)));

        Assert.Equal("ToolNotInstalled", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains("nothing-utils", error.Message);
    }

    [Fact]
    public void DeleteRuntimeFilesRemovesTheSocketsAndThePidFileOnly()
    {
        var files = new VmFiles(home.Paths.VmDirectory("vm1"));
        Directory.CreateDirectory(files.Directory);
        File.WriteAllText(files.ConsoleLog, "boot");
        var socketPath = Path.Combine(files.Directory, "agent.sock");
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, 0))
        {
            socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
        }

        File.WriteAllText(files.HypervisorPidFile, "1 1\n");

        files.DeleteRuntimeFiles();

        Assert.False(File.Exists(socketPath));
        Assert.False(File.Exists(files.HypervisorPidFile));
        Assert.True(File.Exists(files.ConsoleLog));
    }

    public void Dispose() => home.Dispose();
}
