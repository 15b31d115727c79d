using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Processes;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

internal sealed record FakeCloudHypervisorOptions
{
    /// <summary>The guest reacts to the ACPI power button by powering off, which makes the VMM exit.</summary>
    public bool GuestPowersOffOnPowerButton { get; init; } = true;

    /// <summary>False simulates a VMM that answers vmm.shutdown but never exits.</summary>
    public bool ExitsOnVmmShutdown { get; init; } = true;

    /// <summary>When set, vm.boot fails with this error chain after "The VM could not boot".</summary>
    public IReadOnlyList<string>? BootFailure { get; init; }

    /// <summary>Guest programs listening on vsock ports, reachable through the hybrid vsock socket.</summary>
    public IReadOnlyDictionary<uint, FakeGuestService> GuestServices { get; init; } = new Dictionary<uint, FakeGuestService>();

    /// <summary>What vm.counters says each disk read and wrote (and each network device received and sent).</summary>
    public (long Read, long Written) DeviceTraffic { get; init; }

    /// <summary>
    /// The major version the VMM is (vmm.ping's "version" is the crate's, "53.0.0"); before 52, vm.restore knows no
    /// memory_restore_mode and no resume, and ignores them as it ignores any member it does not know.
    /// </summary>
    public int MajorVersion { get; init; } = 53;

    /// <summary>The host gives CH no userfaultfd (no kernel support, or not permitted): an on-demand restore fails.</summary>
    public bool UserfaultfdUnavailable { get; init; }
}

/// <summary>What one vm.restore read: the directory and its mode, config.json's mode, the memory file it opened (inode) and how it filled memory.</summary>
internal sealed record FakeRestore(string Directory, int DirectoryMode, int ConfigMode, ulong MemoryFileInode, string MemoryRestoreMode, bool Prefault);

/// <summary>One API request as the fake received it.</summary>
internal sealed record FakeApiRequest(string Method, string Endpoint, string? Body);

/// <summary>
/// An in-process stand-in for one cloud-hypervisor process, following CH's documented API (v53
/// OpenAPI) and the behaviour of its VMM: HTTP/1.1 on the API socket under /api/v1; 204 without a
/// body or 200 with JSON; errors as a JSON array of strings (400 bad request or schema violation,
/// 404 unknown path or no VM, 409 duplicate device id, 500 anything else including a wrong VM state);
/// one VM configuration (vm.create only stores it) and at most one VM instance; event-monitor
/// records written like CH writes them; the hybrid vsock socket while the VM runs. The VMM "process"
/// is a real stand-in process whose lifetime mirrors the fake's: when the VMM exits the stand-in is
/// killed, and when the stand-in is killed the VMM stops serving. Endpoints outside the subset VmPs
/// uses answer 404 here. Error texts imitate CH's error chains; only their shape is a contract.
/// </summary>
internal sealed class FakeCloudHypervisor : IAsyncDisposable
{
    private const string ApiRoot = "/api/v1/";
    private const int PageBytes = 4096;
    private const string BadRequest = "Bad Request";
    private const string FileScheme = "file://";
    private const string ConfigFile = "config.json";
    private const string StateFile = "state.json";
    private const string MemoryFile = "memory-ranges";
    private const int FakeMemoryBytes = 64 * 1024;
    private static readonly Encoding Utf8WithoutBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    // serde_json escapes only what JSON requires; so does the fake.
    private static readonly JsonSerializerOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions PrettyJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    private readonly object gate = new();
    private readonly string eventMonitorPath;
    private readonly FakeCloudHypervisorOptions options;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<FakeApiRequest> requests = [];
    private readonly TaskCompletionSource exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, Endpoint> endpoints;
    private readonly FakeUnixServer api;
    private readonly Task processWatch;
    private FakeHybridVsock? vsock;
    private JsonObject? config;
    private FakeVmState? vm;
    private byte[]? memory;
    private FakeRestore? restored;

    public FakeCloudHypervisor(string apiSocketPath, string eventMonitorPath, ProcessIdentity process, FakeCloudHypervisorOptions options)
    {
        this.eventMonitorPath = eventMonitorPath;
        this.options = options;
        Process = process;
        endpoints = new Dictionary<string, Endpoint>
        {
            ["vmm.ping"] = new("GET", BodyRule.None, _ => Ping()),
            ["vmm.shutdown"] = new("PUT", BodyRule.None, _ => ShutdownVmm()),
            ["vm.info"] = new("GET", BodyRule.None, _ => Info()),
            ["vm.counters"] = new("GET", BodyRule.None, _ => Counters()),
            ["vm.create"] = new("PUT", BodyRule.Required, Create),
            ["vm.boot"] = new("PUT", BodyRule.None, _ => Boot()),
            ["vm.shutdown"] = new("PUT", BodyRule.None, _ => ShutdownVm()),
            ["vm.reboot"] = new("PUT", BodyRule.None, _ => Reboot()),
            ["vm.power-button"] = new("PUT", BodyRule.None, _ => PowerButton()),
            ["vm.pause"] = new("PUT", BodyRule.None, _ => Pause()),
            ["vm.resume"] = new("PUT", BodyRule.None, _ => Resume()),
            ["vm.delete"] = new("PUT", BodyRule.None, _ => Delete()),
            ["vm.add-disk"] = new("PUT", BodyRule.Required, AddDisk),
            ["vm.snapshot"] = new("PUT", BodyRule.Required, Snapshot),
            ["vm.restore"] = new("PUT", BodyRule.Required, Restore),
            ["vm.remove-device"] = new("PUT", BodyRule.Required, RemoveDevice),
            ["vm.resize"] = new("PUT", BodyRule.Required, Resize),
        };
        WriteEvent("vmm", "starting");
        api = new FakeUnixServer(apiSocketPath, ServeApiAsync);
        processWatch = WatchProcessAsync();
    }

    private enum FakeVmState
    {
        Created,
        Running,
        Paused,
    }

    private enum BodyRule
    {
        None,
        Required,
    }

    public ProcessIdentity Process { get; }

    /// <summary>Completes when the fake VMM has exited.</summary>
    public Task Exited => exited.Task;

    public IReadOnlyList<FakeApiRequest> Requests
    {
        get
        {
            lock (gate)
            {
                return requests.ToArray();
            }
        }
    }

    /// <summary>The booted guest's memory: random at boot, written by vm.snapshot to memory-ranges and read back by vm.restore.</summary>
    public byte[]? GuestMemory
    {
        get
        {
            lock (gate)
            {
                return memory?.ToArray();
            }
        }
    }

    /// <summary>What the last successful vm.restore read, or null.</summary>
    public FakeRestore? Restored
    {
        get
        {
            lock (gate)
            {
                return restored;
            }
        }
    }

    /// <summary>The VM state vm.info reports, or null when no VM is created.</summary>
    public string? VmState
    {
        get
        {
            lock (gate)
            {
                return config is null ? null : (vm ?? FakeVmState.Created).ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ExitAsync().ConfigureAwait(false);
        await processWatch.ConfigureAwait(false);
    }

    private async Task ServeApiAsync(Stream connection, CancellationToken cancellationToken)
    {
        while (await FakeCloudHypervisorHttp.ReadRequestAsync(connection, cancellationToken).ConfigureAwait(false) is { } request)
        {
            var (response, vmmExits) = Dispatch(request);
            try
            {
                await FakeCloudHypervisorHttp.WriteResponseAsync(connection, response, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (vmmExits)
                {
                    // Off this connection's task: exiting closes every connection, this one included.
                    _ = Task.Run(ExitAsync, CancellationToken.None);
                }
            }

            if (vmmExits)
            {
                return;
            }

            if (!request.KeepAlive)
            {
                return;
            }
        }
    }

    private (FakeHttpResponse Response, bool VmmExits) Dispatch(FakeHttpRequest request)
    {
        lock (gate)
        {
            var name = request.Target.StartsWith(ApiRoot, StringComparison.Ordinal) ? request.Target[ApiRoot.Length..] : request.Target;
            requests.Add(new FakeApiRequest(request.Method, name, request.Body));
            if (!request.Target.StartsWith(ApiRoot, StringComparison.Ordinal) || !endpoints.TryGetValue(name, out var endpoint))
            {
                return (Error(404, "Not Found"), false);
            }

            if (request.Method != endpoint.Method || (endpoint.Body == BodyRule.None) != (request.Body is null))
            {
                return (Error(400, "Bad Request"), false);
            }

            return endpoint.Handle(request.Body);
        }
    }

    private (FakeHttpResponse, bool) Ping() => (Json(200, new JsonObject
    {
        ["build_version"] = $"v{options.MajorVersion}.0.0-fake",
        ["version"] = $"{options.MajorVersion}.0.0",
        ["pid"] = Process.Pid,
        ["features"] = new JsonArray("kvm"),
    }), false);

    private (FakeHttpResponse, bool) Info()
    {
        if (config is null)
        {
            return (ApiError(404, "The VM info is not available", "VM is not created"), false);
        }

        return (Json(200, new JsonObject
        {
            ["config"] = config.DeepClone(),
            ["state"] = (vm ?? FakeVmState.Created).ToString(),
            ["memory_actual_size"] = config["memory"]?["size"]?.DeepClone(),
        }), false);
    }

    private (FakeHttpResponse, bool) Counters()
    {
        if (vm is null)
        {
            return (ApiError(500, "The VM counters are not available", "VM is not running"), false);
        }

        var counters = new JsonObject();
        var (read, written) = options.DeviceTraffic;
        foreach (var id in DiskIds())
        {
            counters[id] = new JsonObject { ["read_bytes"] = read, ["write_bytes"] = written, ["read_ops"] = read / 512, ["write_ops"] = written / 512 };
        }

        // CH counts a virtio-net device's traffic under the same endpoint, with its own counter names.
        foreach (var (net, index) in (config?["net"] as JsonArray ?? []).Select((net, index) => (net, index)))
        {
            counters[net?["id"]?.GetValue<string>() ?? $"_net{index}"] = new JsonObject { ["rx_bytes"] = read, ["rx_frames"] = read / 1500, ["tx_bytes"] = written, ["tx_frames"] = written / 1500 };
        }

        return (Json(200, counters), false);
    }

    private (FakeHttpResponse, bool) Create(string? body)
    {
        if (FakeCloudHypervisorConfigValidator.Validate(body, out var parsed) is { } problem)
        {
            return (Error(400, "Failed to deserialize JSON", problem), false);
        }

        if (config is not null)
        {
            return (ApiError(500, "The VM could not be created", "VM is already created"), false);
        }

        config = parsed;
        return (FakeHttpResponse.NoContent, false);
    }

    private (FakeHttpResponse, bool) Boot()
    {
        if (vm is not null)
        {
            return (ApiError(500, "The VM could not boot", "VM is already created"), false);
        }

        if (config is null)
        {
            return (ApiError(404, "The VM could not boot", "VM config is missing"), false);
        }

        WriteEvent("vm", "booting");
        if (options.BootFailure is { } failure)
        {
            return (Error(500, ["Error from API", "The VM could not boot", .. failure]), false);
        }

        if (StartVsock("The VM could not boot") is { } failed)
        {
            return (failed, false);
        }

        memory = RandomNumberGenerator.GetBytes(FakeMemoryBytes);
        vm = FakeVmState.Running;
        WriteEvent("vm", "booted");
        return (FakeHttpResponse.NoContent, false);
    }

    private FakeHttpResponse? StartVsock(string action)
    {
        if (config?["vsock"]?["socket"]?.GetValue<string>() is { } vsockPath)
        {
            try
            {
                vsock = new FakeHybridVsock(vsockPath, options.GuestServices);
            }
            catch (SocketException ex)
            {
                return Error(500, "Error from API", action, "Error from device manager", "Cannot create virtio-vsock device", ex.Message);
            }
        }

        return null;
    }

    /// <summary>
    /// vm.snapshot: only a paused VM, into an existing directory given as a file:// URL, as CH writes it: config.json
    /// (the VmConfig), state.json (device state) and memory-ranges (guest memory).
    /// </summary>
    private (FakeHttpResponse, bool) Snapshot(string? body)
    {
        const string action = "The VM could not be snapshotted";
        if (ParseUrlBody(body, "VmSnapshotConfig", "destination_url", out _, out var url) is { } problem)
        {
            return (Error(400, "Failed to deserialize JSON", problem), false);
        }

        var directory = LocalDirectory(url);

        if (vm is not { } current)
        {
            return (ApiError(500, action, "VM is not running"), false);
        }

        if (current != FakeVmState.Paused)
        {
            return (ApiError(500, action, "Error snapshotting VM: Trying to snapshot while VM is running"), false);
        }

        if (directory is null || !Directory.Exists(directory))
        {
            return (ApiError(500, action, $"Error snapshotting VM: Invalid snapshot destination {url}"), false);
        }

        WriteEvent("vm", "snapshotting");
        File.WriteAllText(Path.Combine(directory, ConfigFile), WithSerializedDefaults(config!).ToJsonString(PrettyJson), Utf8WithoutBom);
        File.WriteAllText(Path.Combine(directory, StateFile), new JsonObject { ["memory_bytes"] = memory!.Length, ["vcpus"] = config!["cpus"]?["boot_vcpus"]?.DeepClone() ?? 1 }.ToJsonString(PrettyJson), Utf8WithoutBom);
        File.WriteAllBytes(Path.Combine(directory, MemoryFile), memory);
        WriteEvent("vm", "snapshotted");
        return (FakeHttpResponse.NoContent, false);
    }

    /// <summary>
    /// The VmConfig as CH's serde writes it into config.json: members left at a default are written too (VmConfig
    /// skips only its None members), such as the debug console (off, on its default port) and the flags below.
    /// </summary>
    private static JsonObject WithSerializedDefaults(JsonObject stored)
    {
        var written = (JsonObject)stored.DeepClone();
        written["debug_console"] ??= new JsonObject { ["mode"] = "Off", ["iobase"] = 233 };
        foreach (var flag in new[] { "pvpanic", "iommu", "watchdog", "landlock_enable" })
        {
            written[flag] ??= false;
        }

        return written;
    }

    /// <summary>
    /// vm.restore (RestoreConfig, deserialized by serde: unknown members ignored), then CH's Vmm::vm_restore in its
    /// order: only into a VMM without a VM; the source must be a file:// directory; config.json is read and must be a
    /// VmConfig; prefault cannot be combined with on-demand memory; state.json and memory-ranges are read, the memory
    /// by copying or (OnDemand, v52 on) through userfaultfd, which needs page-aligned ranges and does not fall back.
    /// The restored VM is paused until vm.resume, or running with resume. On failure the VM is forgotten.
    /// </summary>
    private (FakeHttpResponse, bool) Restore(string? body)
    {
        const string action = "The VM could not be restored";
        var (problem, request) = ParseRestoreConfig(body, options.MajorVersion);
        if (request is null)
        {
            return (problem == BadRequest ? Error(400, BadRequest) : Error(400, "Failed to deserialize JSON", problem!), false);
        }

        if (config is not null)
        {
            return (ApiError(500, action, "VM is already created"), false);
        }

        if (LocalDirectory(request.Url) is not { } directory)
        {
            return (Error(500, "Error from API", action, "Cannot restore VM", "Failed to send migratable component snapshot", $"Could not extract path from URL: {request.Url}"), false);
        }

        if (!Directory.Exists(directory))
        {
            return (Error(500, "Error from API", action, "Cannot restore VM", "Failed to send migratable component snapshot", $"Destination is not a directory: \"{directory}\""), false);
        }

        byte[] restoredMemory;
        JsonObject? restoredConfig;
        ulong memoryInode;
        try
        {
            if (FakeCloudHypervisorConfigValidator.Validate(File.ReadAllText(Path.Combine(directory, ConfigFile)), out restoredConfig) is { } invalid)
            {
                return (Error(500, "Error from API", action, "Cannot restore VM", "Failed to receive migratable component snapshot", "Error deserialising VM config snapshot", invalid), false);
            }

            if (request.Mode == "OnDemand" && request.Prefault)
            {
                return (Error(500, "Error from API", action, "Failed to validate config", "'prefault' cannot be combined with 'memory_restore_mode=ondemand'"), false);
            }

            var state = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, StateFile)));
            using var memoryFile = File.OpenHandle(Path.Combine(directory, MemoryFile));
            memoryInode = VmPs.Core.Storage.UnixFileType.Inode(memoryFile) ?? 0;
            restoredMemory = new byte[RandomAccess.GetLength(memoryFile)];
            RandomAccess.Read(memoryFile, restoredMemory, 0);
            if (state?["memory_bytes"]?.GetValue<int>() != restoredMemory.Length)
            {
                return (ApiError(500, action, "Error restoring VM: Failed to restore guest memory: unexpected end of file"), false);
            }

            if (request.Mode == "OnDemand" && (options.UserfaultfdUnavailable || restoredMemory.Length % PageBytes != 0))
            {
                return (Error(
                    500,
                    options.UserfaultfdUnavailable
                        ? ["Error from API", action, "Memory manager error", "On-demand restore failed", "Failed to create userfaultfd", "Operation not permitted (os error 1)"]
                        : ["Error from API", action, "Memory manager error", "On-demand restore failed", "Snapshot ranges are not page-aligned"]), false);
            }
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            return (ApiError(500, action, $"Error restoring VM: {ex.Message}"), false);
        }

        WriteEvent("vm", "restoring");
        config = restoredConfig;
        if (StartVsock(action) is { } failed)
        {
            config = null;
            return (failed, false);
        }

        memory = restoredMemory;
        restored = new FakeRestore(directory, PermissionBits(directory), PermissionBits(Path.Combine(directory, ConfigFile)), memoryInode, request.Mode, request.Prefault);
        vm = FakeVmState.Paused;
        WriteEvent("vm", "restored");
        return request.Resume ? Resume() : (FakeHttpResponse.NoContent, false);
    }

    private static int PermissionBits(string path) => VmPs.Protocol.Files.UnixFileSystem.GetStatus(path).Mode & 0x1FF;

    private sealed record FakeRestoreConfig(string Url, bool Prefault, string Mode, bool Resume);

    /// <summary>
    /// RestoreConfig as serde reads it: source_url required, prefault and resume booleans, memory_restore_mode one of
    /// the enum's variant names (from v52; earlier versions have neither it nor resume and ignore them), net_fds a list
    /// of {id, num_fds}; any other member is ignored. A net_fds entry expecting descriptors fails as CH fails a request
    /// whose SCM_RIGHTS descriptors do not add up (the fake is sent none): 400 Bad Request.
    /// </summary>
    private static (string? Problem, FakeRestoreConfig? Config) ParseRestoreConfig(string? body, int majorVersion)
    {
        if (ParseUrlBody(body, "RestoreConfig", "source_url", out var request, out var sourceUrl) is { } problem)
        {
            return (problem, null);
        }

        var known = majorVersion >= 52 ? new[] { "prefault", "resume" } : ["prefault"];
        var flags = new Dictionary<string, bool>();
        foreach (var name in known)
        {
            switch (request[name])
            {
                case null:
                    flags[name] = false;
                    break;
                case JsonValue value when value.TryGetValue<bool>(out var flag):
                    flags[name] = flag;
                    break;
                default:
                    return ($"invalid type: expected a boolean for `{name}`", null);
            }
        }

        var mode = "Copy";
        if (majorVersion >= 52 && request["memory_restore_mode"] is { } modeNode)
        {
            if (modeNode is not JsonValue modeValue || !modeValue.TryGetValue<string>(out var modeName))
            {
                return ("invalid type: expected enum MemoryRestoreMode", null);
            }

            if (modeName is not ("Copy" or "OnDemand"))
            {
                return ($"unknown variant `{modeName}`, expected `Copy` or `OnDemand`", null);
            }

            mode = modeName;
        }

        if (request["net_fds"] is { } netFds)
        {
            if (netFds is not JsonArray entries || entries.Any(entry => entry is not JsonObject net || net["id"] is not JsonValue))
            {
                return ("invalid type: expected a sequence of RestoredNetConfig", null);
            }

            if (entries.Any(entry => entry!["num_fds"] is JsonValue count && count.TryGetValue<long>(out var fds) && fds > 0))
            {
                return (BadRequest, null);
            }
        }

        return (null, new FakeRestoreConfig(sourceUrl, flags["prefault"], mode, flags.GetValueOrDefault("resume")));
    }

    /// <summary>
    /// A request body as serde reads a struct with a required string member (a snapshot URL): a JSON object, whose
    /// members it does not know are ignored. Returns serde's complaint, or null.
    /// </summary>
    private static string? ParseUrlBody(string? body, string type, string member, out JsonObject request, out string url)
    {
        request = [];
        url = "";
        try
        {
            if ((body is null ? null : JsonNode.Parse(body)) is not JsonObject parsed)
            {
                return $"invalid type: expected struct {type}";
            }

            request = parsed;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }

        if (request[member] is null)
        {
            return $"missing field `{member}`";
        }

        if (request[member] is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            return $"invalid type: expected a string for `{member}`";
        }

        url = text;
        return null;
    }

    /// <summary>The directory of a file:// URL as CH's url_to_path takes it (the rest of the URL, not decoded); CH supports no other scheme for snapshots.</summary>
    private static string? LocalDirectory(string url) => url.StartsWith(FileScheme, StringComparison.Ordinal) ? url[FileScheme.Length..] : null;

    private (FakeHttpResponse, bool) ShutdownVm()
    {
        if (vm is null)
        {
            return (ApiError(500, "The VM could not shut down", "VM is not running"), false);
        }

        StopVm();
        return (FakeHttpResponse.NoContent, false);
    }

    private (FakeHttpResponse, bool) Reboot()
    {
        if (vm is null)
        {
            return (ApiError(404, "The VM could not reboot", "VM is not created"), false);
        }

        RebootVm();
        return (FakeHttpResponse.NoContent, false);
    }

    /// <summary>
    /// The guest resets the machine (a reboot): CH's reset event reboots the VM inside the same VMM, as vm.reboot does;
    /// the VMM keeps running.
    /// </summary>
    public void GuestResets()
    {
        lock (gate)
        {
            RequireGuest();
            RebootVm();
        }
    }

    /// <summary>
    /// The guest powers the machine off (ACPI S5): CH's guest exit event shuts the VM and the VMM down the way
    /// vmm.shutdown does (vm shutdown, vm deleted, vmm shutdown), and the VMM exits.
    /// </summary>
    public Task GuestPowersOffAsync()
    {
        lock (gate)
        {
            RequireGuest();
            PowerOffGuest();
        }

        return ExitAsync();
    }

    /// <summary>The guest kernel panics: with the pvpanic device configured CH records it ("guest", "panic"); the VMM runs on.</summary>
    public void GuestPanics()
    {
        lock (gate)
        {
            RequireGuest();
            if (config?["pvpanic"]?.GetValue<bool>() == true)
            {
                WriteEvent("guest", "panic", new JsonObject { ["event"] = "panic" });
            }
        }
    }

    private void RequireGuest()
    {
        if (vm is null)
        {
            throw new InvalidOperationException("No guest runs in the fake VMM.");
        }
    }

    /// <summary>
    /// vm_reboot: the old VM is shut down (the vsock device removes its socket, dropping every connection) and a new one
    /// is made from the same config and booted, with a new vsock socket at the same path.
    /// </summary>
    private void RebootVm()
    {
        WriteEvent("vm", "rebooting");
        if (vsock is { } old)
        {
            vsock = null;
            _ = old.DisposeAsync();
        }

        if (config?["vsock"]?["socket"]?.GetValue<string>() is { } vsockPath)
        {
            File.Delete(vsockPath);
        }

        StartVsock("The VM could not reboot");
        memory = RandomNumberGenerator.GetBytes(FakeMemoryBytes);
        vm = FakeVmState.Running;
        WriteEvent("vm", "rebooted");
    }

    private (FakeHttpResponse, bool) PowerButton()
    {
        if (vm != FakeVmState.Running)
        {
            return (ApiError(500, "Error triggering power button", "VM is not running"), false);
        }

        if (!options.GuestPowersOffOnPowerButton)
        {
            return (FakeHttpResponse.NoContent, false);
        }

        PowerOffGuest();
        return (FakeHttpResponse.NoContent, true);
    }

    private void PowerOffGuest()
    {
        DeleteVm();
        WriteEvent("vmm", "shutdown");
    }

    private (FakeHttpResponse, bool) Pause() => Transition(FakeVmState.Running, FakeVmState.Paused, "The VM could not be paused", "pausing", "paused");

    private (FakeHttpResponse, bool) Resume() => Transition(FakeVmState.Paused, FakeVmState.Running, "The VM could not resume", "resuming", "resumed");

    private (FakeHttpResponse, bool) Transition(FakeVmState from, FakeVmState to, string failure, string startEvent, string doneEvent)
    {
        if (vm is not { } current)
        {
            return (ApiError(500, failure, "VM is not running"), false);
        }

        if (current != from)
        {
            return (ApiError(500, failure, $"invalid VM state transition: {current} to {to}"), false);
        }

        WriteEvent("vm", startEvent);
        vm = to;
        WriteEvent("vm", doneEvent);
        return (FakeHttpResponse.NoContent, false);
    }

    private (FakeHttpResponse, bool) Delete()
    {
        DeleteVm();
        return (FakeHttpResponse.NoContent, false);
    }

    private (FakeHttpResponse, bool) ShutdownVmm()
    {
        DeleteVm();
        WriteEvent("vmm", "shutdown");
        return (FakeHttpResponse.NoContent, options.ExitsOnVmmShutdown);
    }

    private (FakeHttpResponse, bool) AddDisk(string? body)
    {
        if (FakeCloudHypervisorConfigValidator.ValidateDisk(body, out var disk) is { } problem)
        {
            return (Error(400, "Failed to deserialize JSON", problem), false);
        }

        if (config is null)
        {
            return (ApiError(404, "The disk could not be added", "VM is not created"), false);
        }

        var ids = DiskIds();
        var id = disk!["id"]?.GetValue<string>() ?? $"_disk{ids.Count}";
        if (ids.Contains(id))
        {
            return (Error(409, "Error from API", "The disk could not be added", $"Identifier {id} is not unique"), false);
        }

        disk["id"] = id;
        if (config["disks"] is not JsonArray disks)
        {
            config["disks"] = disks = [];
        }

        disks.Add(disk);
        if (vm is null)
        {
            return (FakeHttpResponse.NoContent, false);
        }

        return (Json(200, new JsonObject { ["id"] = id, ["bdf"] = $"0000:00:{ids.Count + 2:x2}.0" }), false);
    }

    /// <summary>vm.remove-device {id}: unplugs a device of the running VM and drops it from the configuration.</summary>
    /// <summary>
    /// vm.resize on a booted VM: vCPUs from 1 to cpus.max_vcpus, RAM up to memory.size + hotplug_size (a smaller RAM
    /// is taken but, with ACPI hot-plug, applies only after a reboot). The config then holds the new sizes.
    /// </summary>
    private (FakeHttpResponse, bool) Resize(string? body)
    {
        const string failure = "The VM could not be resized";
        int? vcpus;
        long? ram;
        try
        {
            var request = JsonNode.Parse(body!);
            vcpus = request?["desired_vcpus"]?.GetValue<int>();
            ram = request?["desired_ram"]?.GetValue<long>();
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException)
        {
            return (Error(400, "Failed to deserialize JSON", error.Message), false);
        }

        if (vm is null || config is null)
        {
            return (ApiError(500, failure, "VM is not running"), false);
        }

        var maxVcpus = config["cpus"]!["max_vcpus"]!.GetValue<int>();
        if (vcpus is < 1 || vcpus > maxVcpus)
        {
            return (ApiError(500, failure, $"Error resizing VM: Failed resizing the vCPUs: {vcpus} is not in 1..{maxVcpus}"), false);
        }

        var size = config["memory"]!["size"]!.GetValue<long>();
        var hotplugSize = config["memory"]!["hotplug_size"]?.GetValue<long>() ?? 0;
        if (ram > size && (hotplugSize == 0 || ram > size + hotplugSize))
        {
            return (ApiError(500, failure, $"Error resizing VM: Failed resizing the memory: {ram} bytes is more than the {size + hotplugSize} bytes it can hot-plug"), false);
        }

        WriteEvent("vm", "resizing");
        if (vcpus is { } cpus)
        {
            config["cpus"]!["boot_vcpus"] = cpus;
        }

        if (ram > size)
        {
            config["memory"]!["size"] = ram;
        }

        WriteEvent("vm", "resized");
        return (FakeHttpResponse.NoContent, false);
    }

    private (FakeHttpResponse, bool) RemoveDevice(string? body)
    {
        string? id;
        try
        {
            id = JsonNode.Parse(body!)?["id"]?.GetValue<string>();
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException)
        {
            return (Error(400, "Failed to deserialize JSON", error.Message), false);
        }

        if (id is null)
        {
            return (Error(400, "Failed to deserialize JSON", "missing field `id`"), false);
        }

        if (config is null || vm is null)
        {
            return (ApiError(404, "The device could not be removed from the VM", "VM is not running"), false);
        }

        var index = DiskIds().IndexOf(id);
        if (index < 0)
        {
            return (ApiError(500, "The device could not be removed from the VM", $"Failed to remove device {id}: no device with this id"), false);
        }

        ((JsonArray)config["disks"]!).RemoveAt(index);
        return (FakeHttpResponse.NoContent, false);
    }

    private List<string> DiskIds() =>
        (config?["disks"] as JsonArray ?? [])
            .Select((disk, index) => disk?["id"]?.GetValue<string>() ?? $"_disk{index}")
            .ToList();

    /// <summary>vm.delete: shuts a booted VM down first, then forgets the configuration.</summary>
    private void DeleteVm()
    {
        if (config is null)
        {
            return;
        }

        if (vm is not null)
        {
            StopVm();
        }

        config = null;
        WriteEvent("vm", "deleted");
    }

    private void StopVm()
    {
        StopVsock();
        vm = null;
        memory = null;
        WriteEvent("vm", "shutdown");
    }

    private void StopVsock()
    {
        if (vsock is { } running)
        {
            vsock = null;
            _ = Task.Run(() => running.DisposeAsync().AsTask());
        }
    }

    private async Task ExitAsync()
    {
        lock (gate)
        {
            if (exited.Task.IsCompleted)
            {
                return;
            }

            StopVsock();
        }

        await api.DisposeAsync().ConfigureAwait(false);
        await ProcessProbe.KillAsync(Process, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        exited.TrySetResult();
    }

    /// <summary>A VMM whose process was killed stops answering, as a killed CH would.</summary>
    private async Task WatchProcessAsync()
    {
        while (!exited.Task.IsCompleted)
        {
            if (!ProcessProbe.IsRunning(Process))
            {
                await ExitAsync().ConfigureAwait(false);
                return;
            }

            await Task.WhenAny(exited.Task, Task.Delay(20)).ConfigureAwait(false);
        }
    }

    /// <summary>Appends one record the way CH's event monitor does: pretty JSON, then a blank line.</summary>
    private void WriteEvent(string source, string name, JsonObject? properties = null)
    {
        var elapsed = clock.Elapsed;
        var record = new JsonObject
        {
            ["timestamp"] = new JsonObject
            {
                ["secs"] = (long)elapsed.TotalSeconds,
                ["nanos"] = elapsed.Ticks % TimeSpan.TicksPerSecond * 100,
            },
            ["source"] = source,
            ["event"] = name,
            ["properties"] = properties,
        };
        lock (gate)
        {
            File.AppendAllText(eventMonitorPath, record.ToJsonString(PrettyJson) + "\n\n", Utf8WithoutBom);
        }
    }

    private static FakeHttpResponse Json(int statusCode, JsonNode body) => new(statusCode, body.ToJsonString(CompactJson));

    private static FakeHttpResponse ApiError(int statusCode, string action, string cause) => Error(statusCode, "Error from API", action, cause);

    private static FakeHttpResponse Error(int statusCode, params string[] messages) =>
        new(statusCode, new JsonArray(messages.Select(message => (JsonNode?)message).ToArray()).ToJsonString(CompactJson));

    private sealed record Endpoint(string Method, BodyRule Body, Func<string?, (FakeHttpResponse, bool)> Handle);
}
