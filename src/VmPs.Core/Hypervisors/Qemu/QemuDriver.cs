using System.Text.Json.Nodes;
using VmPs.Core.Agent;
using VmPs.Core.Logs;
using VmPs.Core.Metering;
using VmPs.Core.Processes;
using VmPs.Core.Shares;
using VmPs.Core.Storage;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// Runs each VM as one detached qemu-system-x86_64 process, controlled over QMP on a Unix socket in
/// the VM directory. The guest's serial console goes to a socket (Enter-Vm -Console) and its log file; the agent channel is vhost-vsock
/// where the host has it, else a virtio-serial port backed by a Unix socket.
/// </summary>
public sealed class QemuDriver : IHypervisorDriver
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    private const int LogExcerptLength = 4000;

    private readonly QemuDriverOptions options;

    public QemuDriver(QemuDriverOptions options)
    {
        this.options = options;
        Capabilities = CapabilitiesOf(options);
    }

    public HypervisorKind Kind => HypervisorKind.Qemu;

    public HypervisorCapabilities Capabilities { get; }

    /// <summary>
    /// What QEMU does with these options. Every machine: qcow2, block_resize, stop/cont,
    /// migration to a file, restores that map a checkpoint's RAM file on demand (see QemuGuestMemory), PVH
    /// vmlinux boot and a serial console socket. Only q35 has PCI hotplug (disks, adapters, CPUs, memory) and firmware (OVMF,
    /// SeaBIOS) with a CD-ROM; microvm's virtio-mmio devices are fixed at launch. virtio-fs through a
    /// virtiofsd per share (see VirtioFsDaemons) on either machine.
    /// </summary>
    private static HypervisorCapabilities CapabilitiesOf(QemuDriverOptions options)
    {
        var features = HypervisorFeatures.VirtioFs | HypervisorFeatures.Qcow2Disks | HypervisorFeatures.DiskResize
            | HypervisorFeatures.Pause | HypervisorFeatures.Snapshot | HypervisorFeatures.PvhKernel
            | HypervisorFeatures.LiveDiskSnapshot | HypervisorFeatures.LazyRestore | HypervisorFeatures.SerialConsole;
        if (options.UseVhostVsock)
        {
            features |= HypervisorFeatures.Vsock;
        }

        if (options.Machine == QemuMachine.Q35)
        {
            // vCPUs as devices (QemuCpuHotplug), memory through virtio-mem (QemuMemoryHotplug); microvm has neither.
            features |= HypervisorFeatures.DiskHotplug | HypervisorFeatures.NicHotplug | HypervisorFeatures.CpuResize
                | HypervisorFeatures.MemoryResize | HypervisorFeatures.MemoryUnplug
                | HypervisorFeatures.Uefi | HypervisorFeatures.Bios | HypervisorFeatures.CdRom;
        }

        return new HypervisorCapabilities($"QEMU ({options.Machine.ToString().ToLowerInvariant()})", features);
    }

    public Task<HypervisorInstance> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken) =>
        StartAsync(spec, restoreFrom: null, Task.CompletedTask, cancellationToken);

    /// <summary>
    /// QEMU starts with -incoming defer (same devices, vCPUs held), is fed the saved stream once the state is verified
    /// and then runs the guest on.
    /// </summary>
    public Task<HypervisorInstance> RestoreAsync(VmLaunchSpec spec, string directory, Task verified, CancellationToken cancellationToken) =>
        StartAsync(spec, directory, verified, cancellationToken);

    public async Task PauseAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("stop", cancellationToken).ConfigureAwait(false);
    }

    public async Task ResumeAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("cont", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the vCPUs, then migrates to a file; QEMU flushes the disks when the migration completes. The stream holds
    /// only the device state and the RAM file is copied beside it while the vCPUs still stand still (see
    /// <see cref="QemuGuestMemory"/>), unless the VM runs on a private mapping (a fork, or a VM restored from a
    /// checkpoint, has no RAM file of its own to copy): then the stream holds its memory.
    /// </summary>
    public async Task SaveStateAsync(HypervisorInstance instance, string directory, CancellationToken cancellationToken)
    {
        var vmDirectory = Path.GetDirectoryName(instance.ControlSocketPath)!;
        var sockets = QemuSockets.For(vmDirectory);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("stop", cancellationToken).ConfigureAwait(false);
        var copyMemoryFile = await RunsOnSharedMemoryAsync(qmp, cancellationToken).ConfigureAwait(false);
        await QemuMigration.SaveAsync(qmp, sockets.Migration, directory, copyMemoryFile, cancellationToken).ConfigureAwait(false);
        if (copyMemoryFile)
        {
            await FileCopy.CopyAsync(QemuGuestMemory.RunningFile(vmDirectory), Path.Combine(directory, QemuGuestMemory.StateFileName), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private static async Task<bool> RunsOnSharedMemoryAsync(QmpClient qmp, CancellationToken cancellationToken) =>
        await qmp.ExecuteAsync("qom-get", new JsonObject { ["path"] = $"/objects/{QemuGuestMemory.BackendId}", ["property"] = "share" }, cancellationToken).ConfigureAwait(false)
            is JsonValue share && share.TryGetValue(out bool shared) && shared;

    private async Task<HypervisorInstance> StartAsync(VmLaunchSpec launch, string? restoreFrom, Task verified, CancellationToken cancellationToken)
    {
        var spec = launch with { EventLogPath = QemuEventLog.LogPath(launch.VmDirectory) };
        spec.CreatePrivateFiles();
        QemuEventLog.Prepare(spec.VmDirectory);
        var sockets = QemuSockets.For(spec.VmDirectory);
        if (sockets.QmpIsServed())
        {
            throw new VmPsException(
                VmPsErrorIds.HypervisorAlreadyRunning,
                VmPsErrorKind.InvalidOperation,
                $"A QEMU process already serves '{sockets.Qmp}': VM '{spec.VmName}' is running.",
                spec.VmName);
        }

        sockets.DeleteStale();
        var memory = restoreFrom is null
            ? QemuGuestMemory.OwnFile(spec.VmDirectory)
            : await QemuGuestMemory.ForRestoreAsync(spec.VmDirectory, restoreFrom, cancellationToken).ConfigureAwait(false);
        var logOffset = File.Exists(spec.HypervisorLogPath) ? new FileInfo(spec.HypervisorLogPath).Length : 0;
        ProcessIdentity process;
        try
        {
            var arguments = QemuCommandLine.Build(options, spec, sockets, memory);
            if (restoreFrom is not null)
            {
                arguments = [.. arguments, "-incoming", "defer"];
            }

            process = VmLogKeeper.Launch(
                spec,
                output => VirtioFsDaemons.Launch(spec, output, () => DetachedProcess.Start(options.QemuPath, arguments, output, spec.VmDirectory, spec.PidFilePath)));
        }
        catch
        {
            // A restored VM's RAM file holds its memory: never left behind in /dev/shm.
            QemuGuestMemory.DeleteRunningFile(spec.VmDirectory);
            throw;
        }

        try
        {
            await WaitUntilRunningAsync(process, sockets.Qmp, spec, logOffset, cancellationToken).ConfigureAwait(false);
            if (restoreFrom is not null)
            {
                await verified.ConfigureAwait(false);
                await using var qmp = await QmpClient.ConnectAsync(sockets.Qmp, cancellationToken).ConfigureAwait(false);
                await QemuMigration.RestoreAsync(qmp, sockets.Migration, restoreFrom, sharedMemoryLeftOut: memory.FromStateFile, () => ProcessProbe.IsRunning(process), cancellationToken)
                    .ConfigureAwait(false);
            }

            spec.RestrictHypervisorFiles();
        }
        catch (VmPsException failure) when (restoreFrom is not null && failure.ErrorId is not (VmPsErrorIds.HypervisorStartTimeout or VmPsErrorIds.SavedStateInvalid))
        {
            await ProcessProbe.KillAsync(process, KillWait, CancellationToken.None).ConfigureAwait(false);
            DeleteRuntimeFiles(spec.VmDirectory);
            throw new VmPsException(
                VmPsErrorIds.VmRestoreFailed,
                VmPsErrorKind.InvalidOperation,
                $"QEMU could not restore VM '{spec.VmName}' from its saved state: {failure.Message} Its output: {ReadLog(spec.HypervisorLogPath, logOffset)}",
                spec.VmName,
                failure);
        }
        catch
        {
            await ProcessProbe.KillAsync(process, KillWait, CancellationToken.None).ConfigureAwait(false);
            DeleteRuntimeFiles(spec.VmDirectory);
            throw;
        }

        var agent = options.UseVhostVsock ? AgentEndpoint.KernelVsock(spec.VsockCid) : AgentEndpoint.VirtioSerial(sockets.Agent);
        return new HypervisorInstance(HypervisorKind.Qemu, process, sockets.Qmp, agent);
    }

    public async Task PressPowerButtonAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await qmp.SystemPowerdownAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task AttachDiskAsync(HypervisorInstance instance, string deviceId, DiskSpec disk, CancellationToken cancellationToken)
    {
        Capabilities.Require(HypervisorFeatures.DiskHotplug, deviceId);
        QemuCommandLine.ValidateSerial(disk);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await QemuDiskHotplug.AttachAsync(qmp, deviceId, disk, cancellationToken).ConfigureAwait(false);
    }

    public async Task DetachDiskAsync(HypervisorInstance instance, string deviceId, CancellationToken cancellationToken)
    {
        Capabilities.Require(HypervisorFeatures.DiskHotplug, deviceId);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        await QemuDiskHotplug.DetachAsync(qmp, deviceId, options.UnplugTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// blockdev-snapshot-sync with mode existing: QEMU opens the file made by qemu-img and puts the disk's current
    /// node below it. A disk that already writes <paramref name="path"/> is left alone, so a repeated call is a no-op.
    /// </summary>
    public async Task SnapshotDiskAsync(HypervisorInstance instance, int diskIndex, string path, CancellationToken cancellationToken)
    {
        var device = QemuCommandLine.DriveId(diskIndex);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        var blocks = await qmp.ExecuteAsync("query-block", cancellationToken).ConfigureAwait(false) as JsonArray;
        var current = blocks?.FirstOrDefault(block => block?["device"]?.GetValue<string>() == device)?["inserted"]?["file"]?.GetValue<string>();
        if (current == path)
        {
            return;
        }

        await qmp.ExecuteAsync(
            "blockdev-snapshot-sync",
            new JsonObject { ["device"] = device, ["snapshot-file"] = path, ["format"] = "qcow2", ["mode"] = "existing" },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> ConnectConsoleAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        var socket = QemuSockets.For(Path.GetDirectoryName(instance.ControlSocketPath)!).Console;
        try
        {
            return await UnixSocketStreams.ConnectAsync(socket, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException error)
        {
            // VMs started before VmPs had console sockets have their serial port on a file only.
            throw new VmPsException(
                VmPsErrorIds.SerialConsoleUnavailable,
                VmPsErrorKind.ResourceUnavailable,
                $"QEMU does not serve a serial console socket at '{socket}': {error.Message}",
                socket,
                error)
            {
                RecommendedAction = "Restart the VM (Stop-Vm, Start-Vm): VMs started by an older VmPs have no console socket.",
            };
        }
    }

    /// <summary>q35 plugs and unplugs vCPUs (see <see cref="QemuCpuHotplug"/>) and memory (see <see cref="QemuMemoryHotplug"/>); microvm neither.</summary>
    public async Task ResizeAsync(HypervisorInstance instance, int? cpus, int? memoryMiB, CancellationToken cancellationToken)
    {
        Capabilities.Require((cpus is null ? HypervisorFeatures.None : HypervisorFeatures.CpuResize) | (memoryMiB is null ? HypervisorFeatures.None : HypervisorFeatures.MemoryResize), instance.ControlSocketPath);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        if (memoryMiB is { } memory)
        {
            await QemuMemoryHotplug.ResizeAsync(qmp, memory, options.UnplugTimeout, cancellationToken).ConfigureAwait(false);
        }

        if (cpus is { } wanted)
        {
            await QemuCpuHotplug.ResizeAsync(qmp, wanted, options.UnplugTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<DiskCounters> ReadDiskCountersAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
        return DiskCounters.FromQemuBlockStats(await qmp.ExecuteAsync("query-blockstats", cancellationToken).ConfigureAwait(false))
            ?? throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, "QEMU's query-blockstats answer has no byte counts.", instance.ControlSocketPath);
    }

    public async Task KillAsync(HypervisorInstance instance, CancellationToken cancellationToken)
    {
        if (ProcessProbe.IsRunning(instance.Process))
        {
            await QuitThroughQmpAsync(instance.ControlSocketPath, cancellationToken).ConfigureAwait(false);
            if (!await ProcessProbe.WaitForExitAsync(instance.Process, options.QuitTimeout, cancellationToken).ConfigureAwait(false))
            {
                await ProcessProbe.KillAsync(instance.Process, KillWait, cancellationToken).ConfigureAwait(false);
            }

            if (ProcessProbe.IsRunning(instance.Process))
            {
                throw new VmPsException(
                    VmPsErrorIds.HypervisorKillFailed,
                    VmPsErrorKind.InvalidOperation,
                    $"QEMU (pid {instance.Process.Pid}) is still running after SIGKILL.",
                    instance.Process.Pid);
            }
        }

        DeleteRuntimeFiles(Path.GetDirectoryName(instance.ControlSocketPath)!);
    }

    /// <summary>What a QEMU process that has ended leaves: its sockets, its RAM file, its shares' virtiofsd and its log keeper.</summary>
    private static void DeleteRuntimeFiles(string vmDirectory)
    {
        QemuSockets.For(vmDirectory).DeleteStale();
        QemuGuestMemory.DeleteRunningFile(vmDirectory);
        VirtioFsDaemons.End(vmDirectory);
        VmLogKeeper.End(vmDirectory);
    }

    /// <summary>
    /// Asks QEMU to quit, bounded: a hung QEMU, or a monitor held by another client (QEMU serves one
    /// at a time and would never greet us), must not stall the kill that follows.
    /// </summary>
    private async Task QuitThroughQmpAsync(string socketPath, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.QuitTimeout);
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(socketPath, timeout.Token).ConfigureAwait(false);
            await qmp.QuitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Polls until QMP answers query-status, failing fast with QEMU's own output when it exits first.</summary>
    private async Task WaitUntilRunningAsync(ProcessIdentity process, string qmpSocket, VmLaunchSpec spec, long logOffset, CancellationToken cancellationToken)
    {
        var logPath = spec.HypervisorLogPath;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.StartTimeout);
        VmPsException? lastError = null;
        try
        {
            while (true)
            {
                if (!ProcessProbe.IsRunning(process))
                {
                    // The keeper copies QEMU's last words before it ends.
                    VmLogKeeper.End(spec.VmDirectory);
                    throw new VmPsException(
                        VmPsErrorIds.HypervisorStartFailed,
                        VmPsErrorKind.InvalidOperation,
                        $"QEMU exited during start: {ReadLog(logPath, logOffset)}",
                        logPath);
                }

                if (File.Exists(qmpSocket))
                {
                    try
                    {
                        await using var qmp = await QmpClient.ConnectAsync(qmpSocket, deadline.Token).ConfigureAwait(false);
                        await qmp.QueryStatusAsync(deadline.Token).ConfigureAwait(false);
                        return;
                    }
                    catch (VmPsException ex) when (ex.Kind is VmPsErrorKind.ConnectionError or VmPsErrorKind.ProtocolError)
                    {
                        lastError = ex;
                    }
                }

                await Task.Delay(PollInterval, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VmPsException(
                VmPsErrorIds.HypervisorStartTimeout,
                VmPsErrorKind.OperationTimeout,
                $"QEMU did not answer on its QMP socket within {options.StartTimeout.TotalSeconds:0} s{(lastError is null ? "" : $" ({lastError.Message})")}. Its output: {ReadLog(logPath, logOffset)}",
                qmpSocket);
        }
    }

    private static string ReadLog(string logPath, long offset)
    {
        try
        {
            using var file = File.OpenRead(logPath);
            file.Seek(Math.Min(offset, file.Length), SeekOrigin.Begin);
            var text = new StreamReader(file).ReadToEnd().Trim();
            if (text.Length == 0)
            {
                return "(no output)";
            }

            return text.Length <= LogExcerptLength ? text : "..." + text[^LogExcerptLength..];
        }
        catch (IOException)
        {
            return "(no output)";
        }
    }
}
