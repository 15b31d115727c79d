using System.Net.Sockets;
using System.Text.Json.Nodes;
using VmPs.Core.State;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// Moves a VM's migration stream between QEMU and a file over a Unix socket in the VM directory. QEMU 7.2 has no
/// file: migration URI, and exec: would run a shell; with unix: VmPs itself reads or writes the file, so it stays
/// a private file VmPs made.
/// </summary>
internal static class QemuMigration
{
    /// <summary>The one file a QEMU saved state consists of.</summary>
    public const string StateFileName = "memory.bin";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    // QEMU throttles migration to 128 MiB/s by default, a limit meant for live migration over a network.
    private const long UnthrottledBytesPerSecond = 64L << 30;

    /// <summary>
    /// Migrates the stopped VM into <paramref name="directory"/>/<see cref="StateFileName"/>; returns once QEMU reports
    /// it completed. With <paramref name="leaveOutSharedMemory"/> the stream leaves out guest RAM on a shared backend
    /// (x-ignore-shared): only the device state is written, and the restore must map a copy of the RAM file.
    /// </summary>
    public static async Task SaveAsync(QmpClient qmp, string socketPath, string directory, bool leaveOutSharedMemory, CancellationToken cancellationToken)
    {
        File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        // bind(2) gives the socket the umask's mode; only QEMU, running as this user, connects.
        PrivateFiles.Restrict(socketPath);
        listener.Listen(1);
        try
        {
            using var copying = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var receive = ReceiveAsync(listener, Path.Combine(directory, StateFileName), copying.Token);
            await qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = UnthrottledBytesPerSecond }, cancellationToken).ConfigureAwait(false);
            await SetIgnoreSharedAsync(qmp, leaveOutSharedMemory, cancellationToken).ConfigureAwait(false);
            await qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"unix:{socketPath}" }, cancellationToken).ConfigureAwait(false);
            try
            {
                await WaitForCompletionAsync(qmp, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await copying.CancelAsync().ConfigureAwait(false);
                await receive.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
                throw;
            }

            await receive.ConfigureAwait(false);
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    /// <summary>
    /// Feeds the state file to a QEMU started with -incoming defer, then continues the guest and returns once it runs.
    /// <paramref name="sharedMemoryLeftOut"/> must be what the save was given: the capability changes the stream's format.
    /// </summary>
    public static async Task RestoreAsync(QmpClient qmp, string socketPath, string directory, bool sharedMemoryLeftOut, Func<bool> hypervisorRuns, CancellationToken cancellationToken)
    {
        File.Delete(socketPath);
        await SetIgnoreSharedAsync(qmp, sharedMemoryLeftOut, cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = $"unix:{socketPath}" }, cancellationToken).ConfigureAwait(false);
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await using var state = new FileStream(Path.Combine(directory, StateFileName), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
            await state.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }

        while (true)
        {
            if (!hypervisorRuns())
            {
                throw Failed("QEMU exited while loading the saved state");
            }

            var status = await qmp.QueryStatusAsync(cancellationToken).ConfigureAwait(false);
            switch (status)
            {
                case "running":
                    return;
                case "paused":
                    // The stream carries the source's run state, and Save-Vm stopped the source before migrating.
                    await qmp.ExecuteAsync("cont", cancellationToken).ConfigureAwait(false);
                    break;
                case "inmigrate" or "restore-vm" or "prelaunch":
                    await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw Failed($"after loading the saved state QEMU reports '{status}', not running");
            }
        }
    }

    /// <summary>Set at every save, since QEMU keeps a capability for the process's life.</summary>
    private static Task SetIgnoreSharedAsync(QmpClient qmp, bool enabled, CancellationToken cancellationToken) =>
        qmp.ExecuteAsync(
            "migrate-set-capabilities",
            new JsonObject { ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "x-ignore-shared", ["state"] = enabled }) },
            cancellationToken);

    private static async Task ReceiveAsync(Socket listener, string path, CancellationToken cancellationToken)
    {
        using var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(connection, ownsSocket: false);
        await using var file = PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write);
        await stream.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
        await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
    }

    private static async Task WaitForCompletionAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        while (true)
        {
            var info = await qmp.ExecuteAsync("query-migrate", cancellationToken).ConfigureAwait(false);
            switch (info?["status"]?.GetValue<string>())
            {
                case "completed":
                    return;
                case "failed" or "cancelled":
                    throw Failed($"QEMU's migration failed: {info?["error-desc"]?.GetValue<string>() ?? "no reason given"}");
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static VmPsException Failed(string message) => new(VmPsErrorIds.QmpCommandFailed, VmPsErrorKind.InvalidOperation, message + ".", "migrate");
}
