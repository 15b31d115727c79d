using System.Diagnostics;
using System.Net.Sockets;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Security;

/// <summary>
/// The state directory is private whatever the umask: state made under umask 000 by the real managers has every
/// directory 0700 and every file 0600 (no group or other bit anywhere), no path can be read as `nobody`, and an
/// existing installation with open modes is repaired when its state is next opened, without following links. In the
/// boot collection: one test boots a VM.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class PrivateStateTests(ITestOutputHelper output) : IDisposable
{
    private const UnixFileMode SharedBits = (UnixFileMode)0b000_111_111;
    private readonly TemporaryVmPsHome home = new();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "setpriv")]
    public async Task StateMadeUnderAnOpenUmaskIsPrivateAndUnreadableByNobody()
    {
        Directory.Delete(home.Paths.Root);

        Assert.Equal("ok", await PrivateStateChild.RunAsync(home.Paths, "create"));

        var paths = AssertPrivate();
        Assert.Contains(paths, path => path.EndsWith("/state.db", StringComparison.Ordinal));
        Assert.Contains(paths, path => path.EndsWith("/overlay.ext4", StringComparison.Ordinal));
        Assert.Contains(paths, path => path.EndsWith(".qcow2", StringComparison.Ordinal));
        Assert.Contains(paths, path => path.EndsWith(".lock", StringComparison.Ordinal));
        Assert.Contains(paths, path => path.EndsWith("rootfs.erofs", StringComparison.Ordinal));
        var (tried, refused) = await ReadAllAsNobodyAsync(paths);
        output.WriteLine($"paths checked as nobody: {tried}, refused with EACCES: {refused}");
        Assert.Equal(tried, refused);
    }

    /// <summary>
    /// What a start makes, some of it by other programs (QEMU's sockets, the log keeper's logs and pid file, the log
    /// pipes, the hypervisor's pid file, the agent port's lock), is private too while the VM runs.
    /// </summary>
    [RequiresVmBootFact]
    public async Task AVmStartedUnderAnOpenUmaskKeepsItsRuntimeFilesPrivate()
    {
        Directory.Delete(home.Paths.Root);

        try
        {
            Assert.Equal("ok", await PrivateStateChild.RunAsync(home.Paths, "start"));

            var paths = AssertPrivate();
            string[] runtimeFiles =
            [
                "/qmp.sock", "/agent.sock", "/agent.sock.lock", "/hypervisor.pid", "/logkeeper.pid", "/console.out", "/app.out",
                "/hypervisor.out", "/qmp-events.out", "/qmp-events.in", "/console.log", "/app.log", "/hypervisor.log", "/qmp-events.log",
            ];
            foreach (var name in runtimeFiles)
            {
                // Sockets: the owner's bits are QEMU's (its umask), group and other are off (checked above).
                var path = Assert.Single(paths, path => path.EndsWith(name, StringComparison.Ordinal));
                Assert.True(name.EndsWith(".sock", StringComparison.Ordinal) || UnixFileSystem.GetStatus(path).Mode == 0b110_000_000, $"{path} is {Convert.ToString(UnixFileSystem.GetStatus(path).Mode, 8)}");
            }

            var (tried, refused) = await ReadAllAsNobodyAsync(paths);
            output.WriteLine($"paths of a running VM checked as nobody: {tried}, refused with EACCES: {refused}");
            Assert.Equal(tried, refused);
        }
        finally
        {
            await VmTestHost.Manager(home.Paths).StopAsync(PrivateStateChild.VmName, new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        }

        Assert.Empty(HostProcesses.Mentioning(home.Paths.Root));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "setpriv")]
    public async Task AnOpenInstallationIsRepairedWhenItsStateIsOpenedWithoutFollowingLinks()
    {
        Assert.Equal("ok", await PrivateStateChild.RunAsync(home.Paths, "create"));
        using var outside = new ScratchDirectory();
        var target = outside.Combine("not-vmps");
        File.WriteAllText(target, "the user's");
        UnixFileSystem.SetMode(target, (UnixFileMode)0b110_110_110);
        var vmDirectory = Directory.GetDirectories(home.Paths.VmsDirectory).Single();
        File.CreateSymbolicLink(Path.Combine(vmDirectory, "link"), target);
        // Bound for the rest of the test: .NET removes a socket's file when the socket closes.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(vmDirectory, "qmp.sock")));

        var opened = 0;
        foreach (var path in Walk(home.Paths.Root).Prepend(home.Paths.Root))
        {
            var kind = UnixFileSystem.GetStatus(path).Kind;
            if (kind != FileKind.SymbolicLink)
            {
                // A socket bound under a umask of 000 is 0777.
                UnixFileSystem.SetMode(path, (UnixFileMode)(kind is FileKind.Directory or FileKind.Other ? 0b111_111_111 : 0b110_110_110));
                opened++;
            }
        }

        Assert.Equal("ok", await PrivateStateChild.RunAsync(home.Paths, "open"));

        var paths = AssertPrivate();
        output.WriteLine($"repaired {opened} paths opened to 0777/0666");
        Assert.Equal(0b110_110_110, UnixFileSystem.GetStatus(target).Mode);
        Assert.Contains(paths, path => path.EndsWith("/qmp.sock", StringComparison.Ordinal));
    }

    public void Dispose() => home.Dispose();

    /// <summary>Every path below the root (links not followed) and the root: directories 0700, sockets and pipes 0600, the rest without group or other bits, state files exactly 0600.</summary>
    private List<string> AssertPrivate()
    {
        Assert.Equal(0b111_000_000, UnixFileSystem.GetStatus(home.Paths.Root).Mode);
        var paths = Walk(home.Paths.Root).ToList();
        foreach (var path in paths)
        {
            var status = UnixFileSystem.GetStatus(path);
            var mode = (UnixFileMode)status.Mode;
            switch (status.Kind)
            {
                case FileKind.SymbolicLink:
                    continue;
                case FileKind.Directory:
                    Assert.True(mode == (UnixFileMode)0b111_000_000, $"{path} is {Convert.ToString(status.Mode, 8)}");
                    break;
                case FileKind.Other:
                    Assert.True(mode == (UnixFileMode)0b110_000_000, $"socket or pipe {path} is {Convert.ToString(status.Mode, 8)}");
                    break;
                default:
                    Assert.True((mode & SharedBits) == 0, $"{path} is {Convert.ToString(status.Mode, 8)}");
                    break;
            }
        }

        foreach (var file in paths.Where(path => path.EndsWith("state.db", StringComparison.Ordinal) || path.EndsWith(".lock", StringComparison.Ordinal)
            || path.EndsWith(".ext4", StringComparison.Ordinal) || path.EndsWith(".raw", StringComparison.Ordinal) || path.EndsWith(".qcow2", StringComparison.Ordinal)))
        {
            Assert.True(UnixFileSystem.GetStatus(file).Mode == 0b110_000_000, $"{file} is {Convert.ToString(UnixFileSystem.GetStatus(file).Mode, 8)}");
        }

        return paths;
    }

    private static IEnumerable<string> Walk(string directory)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            yield return entry;
            if (UnixFileSystem.GetStatus(entry).Kind == FileKind.Directory)
            {
                foreach (var below in Walk(entry))
                {
                    yield return below;
                }
            }
        }
    }

    /// <summary>Opens every path as nobody (setpriv drops to uid and gid 65534 with no groups): a directory is listed, anything else read.</summary>
    private static async Task<(int Tried, int Refused)> ReadAllAsNobodyAsync(IReadOnlyList<string> paths)
    {
        const string script = """
            for p; do
              if [ -d "$p" ]; then out=$(ls -- "$p" 2>&1 >/dev/null); else out=$(timeout 5 cat -- "$p" 2>&1 >/dev/null); fi
              case "$out" in *"Permission denied"*) echo "refused $p";; *) echo "opened $p: $out";; esac
            done
            """;
        var start = new ProcessStartInfo("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "sh", "-c", script, "sh", .. paths])
        {
            RedirectStandardOutput = true,
        };
        using var child = Process.Start(start)!;
        var lines = (await child.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await child.WaitForExitAsync();
        Assert.DoesNotContain(lines, line => line.StartsWith("opened ", StringComparison.Ordinal));
        return (paths.Count, lines.Count(line => line.StartsWith("refused ", StringComparison.Ordinal)));
    }
}
