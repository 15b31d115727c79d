using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Metadata;
using VmPs.Protocol.Systemd;

namespace VmPs.Core.Vms;

/// <summary>
/// The VmPs agent of a disk image VM. The cloud-init seed carries the static agent binary, its systemd unit and the
/// instance metadata; VmPs's part of the user data (a bootcmd, which cloud-init runs at every boot, before its final
/// stage) mounts the seed read-only and starts the agent from it as a runtime unit. Nothing is written to the guest's
/// disk, and each boot runs the agent of the host's VmPs version. An image without cloud-init runs no agent: Start-Vm
/// then returns once the guest is at its login prompt, and says so.
/// </summary>
internal static partial class DiskImageAgent
{
    /// <summary>The seed's directory of VmPs files (cloud-init reads only its own files at the seed's root).</summary>
    public const string SeedDirectory = "vmps";

    private const string AgentFile = "vmps-guest";
    private const string UnitFile = "vmps-agent.service";
    private const string MetadataFile = "metadata.json";

    /// <summary>Where the guest mounts the seed: under a root-only directory, as the metadata holds the user data.</summary>
    private const string GuestMount = "/run/vmps/seed";

    private const string GuestFiles = GuestMount + "/" + SeedDirectory;

    /// <summary>How long after the login prompt a guest that shows no sign of cloud-init still gets to start the agent.</summary>
    private static readonly TimeSpan LoginGrace = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan ConsolePollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The console's last bytes that are read for the login prompt.</summary>
    private const int ConsoleTailBytes = 4096;

    /// <summary>
    /// The bootcmd: the seed by its disk serial (not its label, which the image could carry too); veth for the metadata
    /// service's namespace (a module in distribution kernels); the unit in /run, so it lasts this boot only.
    /// </summary>
    public static readonly string BootCommand = string.Join('\n',
    [
        "set -e",
        "mkdir -p -m 0700 /run/vmps",
        $"mkdir -p {GuestMount}",
        $"mountpoint -q {GuestMount} || mount -t iso9660 -o ro,nodev,nosuid /dev/disk/by-id/virtio-{CloudInitSeed.DiskSerial} {GuestMount}",
        "modprobe veth 2>/dev/null || true",
        $"cp {GuestFiles}/{UnitFile} /run/systemd/system/{SystemdAgentUnit.UnitName}",
        "systemctl daemon-reload",
        $"systemctl start --no-block {SystemdAgentUnit.UnitName}",
    ]);

    /// <summary>Writes the agent's files into the seed's staging directory <paramref name="staging"/>.</summary>
    public static async Task StageAsync(string staging, AgentChannelConfig channel, InstanceMetadata metadata, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(staging, SeedDirectory);
        PrivateFiles.CreateNewDirectory(directory);
        var agent = Path.Combine(directory, AgentFile);
        await FileCopy.CopyAsync(GuestBinary.Locate(), agent, cancellationToken).ConfigureAwait(false);
        // The seed's Rock Ridge modes make every file readable; an executable bit makes it executable.
        PrivateFiles.SetMode(agent, 0x1C0); // 0700
        await PrivateFiles.WriteAllTextAsync(
            Path.Combine(directory, UnitFile),
            SystemdAgentUnit.Render(channel, $"{GuestFiles}/{AgentFile}", $"{GuestFiles}/{MetadataFile}"),
            cancellationToken).ConfigureAwait(false);
        await PrivateFiles.WriteAllTextAsync(
            Path.Combine(directory, MetadataFile),
            JsonSerializer.Serialize(metadata, ProtocolJsonContext.Default.InstanceMetadata),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for the agent to answer; null when it did, else why the VM runs without it: the guest reached its login
    /// prompt with no word from cloud-init on its console, or the timeout passed (the VM boots on either way). A guest
    /// that stops meanwhile fails the start as for any VM.
    /// </summary>
    public static async Task<string?> WaitAsync(HypervisorInstance launched, string consoleLog, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var givingUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watching = WatchConsoleAsync(consoleLog, givingUp);
        try
        {
            await using var agent = await AgentReadiness.WaitAsync(
                AgentConnectors.For(launched.Agent),
                timeout,
                () => ProcessProbe.IsRunning(launched.Process),
                givingUp.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"The VM runs without the VmPs agent (console and network only): it reached its login prompt, and no agent answered within {LoginGrace.TotalSeconds:0} s. Its image has no cloud-init, or cloud-init is disabled in it; the console log shows its boot.");
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.AgentNotReady)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"The VmPs agent did not answer within {timeout.TotalSeconds:0} s; the VM boots on, and commands reach it once cloud-init has started the agent (Start-Vm -Timeout waits longer). Without cloud-init in its image, it has no agent.");
        }
        finally
        {
            await givingUp.CancelAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
        }
    }

    /// <summary>Why a VM booting an installer ISO (New-Vm -IsoPath) runs without the agent, and how to reach it.</summary>
    public static string InstallerDetail(string isoPath) =>
        $"The VM boots the ISO image '{isoPath}' and runs without the VmPs agent: Enter-Vm -Console attaches to its serial console. Once installed and stopped, New-Vm -Image of New-VmImage -FromVm boots the installed disk with the agent.";

    /// <summary>Cancels <paramref name="givingUp"/> <see cref="LoginGrace"/> after a login prompt, unless cloud-init has shown itself.</summary>
    private static async Task WatchConsoleAsync(string consoleLog, CancellationTokenSource givingUp)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ConsolePollInterval, givingUp.Token).ConfigureAwait(false);
                var tail = ReadTail(consoleLog);
                if (CloudInitBanner().IsMatch(tail))
                {
                    return;
                }

                if (LoginPrompt().IsMatch(tail))
                {
                    givingUp.CancelAfter(LoginGrace);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The console's last bytes; the log keeper rotates it, and a missing file is an empty console.</summary>
    private static string ReadTail(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = (int)Math.Min(file.Length, ConsoleTailBytes);
            file.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            file.ReadExactly(buffer);
            return Encoding.UTF8.GetString(buffer);
        }
        catch (Exception error) when (error is FileNotFoundException or IOException)
        {
            return "";
        }
    }

    /// <summary>cloud-init's stages announce themselves on the console ("Cloud-init v. 22.4.2 running 'init-local' at ...").</summary>
    [GeneratedRegex(@"Cloud-init v\. \S+ running")]
    private static partial Regex CloudInitBanner();

    /// <summary>getty's prompt, the last thing on the console ("cloudvm login: ").</summary>
    [GeneratedRegex(@"\S login: *\z")]
    private static partial Regex LoginPrompt();
}
