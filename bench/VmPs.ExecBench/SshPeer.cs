using VmPs.Core.Network;
using VmPs.Core.Processes;

namespace VmPs.ExecBench;

/// <summary>
/// OpenSSH's client run the way users run it (a process per command), started inside the VM's network
/// namespace, against the guest's sshd with a key pair made for this run.
/// </summary>
internal sealed class SshPeer(NetworkNamespace networkNamespace, string keyPath, string address, string controlSocket)
{
    private string Target => $"root@{address}";

    private string[] Options =>
        ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-i", keyPath];

    public static async Task<string> GenerateKeyAsync(string directory, CancellationToken cancellationToken)
    {
        var key = Path.Combine(directory, "id_ed25519");
        await ExternalTool.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], cancellationToken);
        return key;
    }

    /// <summary>Retries `ssh true` until sshd accepts the key.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var result = await RunAsync("ssh", [.. Options, "-o", "ConnectTimeout=5", Target, "true"], cancellationToken);
            if (result.ExitCode == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"sshd in the guest did not accept the key: {result.StandardError}");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    public Task TrueAsync(CancellationToken cancellationToken) => RunCheckedAsync("ssh", [.. Options, Target, "true"], cancellationToken);

    public Task StartMasterAsync(CancellationToken cancellationToken) =>
        RunCheckedAsync("ssh", [.. Options, "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-S", controlSocket, Target, "true"], cancellationToken);

    public Task MultiplexedTrueAsync(CancellationToken cancellationToken) =>
        RunCheckedAsync("ssh", [.. Options, "-S", controlSocket, Target, "true"], cancellationToken);

    public Task StopMasterAsync(CancellationToken cancellationToken) =>
        RunAsync("ssh", ["-S", controlSocket, "-O", "exit", Target], cancellationToken);

    public Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken) =>
        RunCheckedAsync("scp", [.. Options, "-q", hostPath, $"{Target}:{guestPath}"], cancellationToken);

    public Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken) =>
        RunCheckedAsync("scp", [.. Options, "-q", $"{Target}:{guestPath}", hostPath], cancellationToken);

    private async Task RunCheckedAsync(string executable, string[] arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(executable, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{executable} exited with {result.ExitCode}: {result.StandardError}");
        }
    }

    private Task<ToolResult> RunAsync(string executable, string[] arguments, CancellationToken cancellationToken) =>
        networkNamespace.RunStartedAsync(() => ExternalTool.RunAsync(executable, arguments, cancellationToken), cancellationToken);
}
