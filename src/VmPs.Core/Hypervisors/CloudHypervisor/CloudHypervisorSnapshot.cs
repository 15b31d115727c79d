using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.State;
using VmPs.Core.Volumes;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// A snapshot directory as vm.snapshot writes it (CH's docs/snapshot_restore.md): config.json, the VmConfig the VM ran
/// with; state.json, its device state; memory-ranges, its guest memory, which vm.restore only reads. vm.restore takes
/// every device (disk files, TAP, vsock socket, console files) from config.json, which CH documents as editable between
/// snapshot and restore; its net_fds replaces only adapters CH was handed as file descriptors, and VmPs names its TAPs.
/// So a VM is restored from a private directory of its own (<see cref="PrepareRestore"/>): config.json is the snapshot's
/// with the launch's own paths and identity put in (<see cref="ForLaunch"/>), beside hard links of the other two files,
/// so a fork restores another VM's snapshot as itself and every fork reads the one memory file.
/// </summary>
internal static class CloudHypervisorSnapshot
{
    public const string ConfigFile = "config.json";
    public const string StateFile = "state.json";
    public const string MemoryFile = "memory-ranges";

    /// <summary>The directory in the VM directory a restore is made from; it goes once CH has read it.</summary>
    public const string RestoreDirectoryName = "ch-restore";

    // The VmConfig of a VmPs VM is a few KiB; anything far larger is not one CH wrote for it.
    private const int MaxConfigBytes = 1 << 20;

    // Kept as the snapshot has them: what the saved guest was built with (sizes, topology, queues, device ids, by which
    // state.json names the devices). None of them names a host file.
    private static readonly HashSet<string> Kept = new(StringComparer.Ordinal)
    {
        "cpus", "memory", "rate_limit_groups", "balloon", "pvpanic", "iommu", "numa", "watchdog", "rtc", "gdb", "pci_segments", "platform", "landlock_enable",
    };

    // The members of each device that are the VM's own: host paths, modes that open host files, the guest's identity.
    // They come from the launch or, where it has none, CH's default; the device's other members are kept.
    private static readonly Dictionary<string, string[]> Owned = new(StringComparer.Ordinal)
    {
        ["payload"] = ["firmware", "kernel", "cmdline", "initramfs", "igvm", "host_data", "fw_cfg_config"],
        ["disks"] = ["path", "readonly", "direct", "image_type", "serial", "vhost_user", "vhost_socket", "backing_files"],
        ["net"] = ["tap", "mac", "host_mac", "ip", "mask", "mtu", "vhost_user", "vhost_socket", "vhost_mode", "fds"],
        ["fs"] = ["tag", "socket"],
        ["vsock"] = ["cid", "socket"],
        ["rng"] = ["src"],
        ["serial"] = ["mode", "file", "socket", "url"],
        ["console"] = ["mode", "file", "socket", "url"],
        ["debug_console"] = ["file"],
    };

    /// <summary>
    /// Makes the VM directory's restore directory for <paramref name="spec"/> from the snapshot in
    /// <paramref name="snapshot"/> (private, 0700; made afresh) and returns its path. Nothing in the snapshot chooses
    /// where anything is written. SavedStateInvalid when config.json is not one VmPs can restore as this VM.
    /// </summary>
    public static string PrepareRestore(VmLaunchSpec spec, string snapshot)
    {
        var config = ForLaunch(spec.VmName, ReadConfig(spec.VmName, Path.Combine(snapshot, ConfigFile)), Own(spec));
        var directory = Path.Combine(spec.VmDirectory, RestoreDirectoryName);
        Vms.VmDirectorySweep.DeleteDirectory(directory);
        PrivateFiles.CreateNewDirectory(directory);
        try
        {
            using (var output = PrivateFiles.Open(Path.Combine(directory, ConfigFile), FileMode.CreateNew, FileAccess.Write))
            {
                output.Write(JsonSerializer.SerializeToUtf8Bytes(config));
            }

            foreach (var name in new[] { StateFile, MemoryFile })
            {
                var source = Path.Combine(snapshot, name);
                if (UnixFileSystem.TryGetStatus(source) is not { Kind: FileKind.File })
                {
                    throw Invalid(spec.VmName, $"its {name} is missing or not a regular file");
                }

                VolumeFiles.HardLink(source, Path.Combine(directory, name));
            }
        }
        catch
        {
            Vms.VmDirectorySweep.DeleteDirectory(directory);
            throw;
        }

        return directory;
    }

    /// <summary>
    /// The snapshot's configuration made the launch's (<paramref name="own"/>: what vm.create would get): the payload
    /// and each device's own members (<see cref="Owned"/>) are the launch's, the rest of each device and the
    /// <see cref="Kept"/> members stay as saved; a device count that differs, memory zones (which may name a file) and
    /// any other member that is not empty (devices VmPs never makes, several of which name host files) are refused.
    /// </summary>
    internal static JsonObject ForLaunch(string vmName, JsonObject saved, JsonObject own)
    {
        var config = new JsonObject();
        foreach (var (name, value) in saved)
        {
            if (Kept.Contains(name) || Owned.ContainsKey(name))
            {
                continue;
            }

            if (!IsEmpty(value))
            {
                throw Invalid(vmName, $"its config.json has '{name}', which VmPs does not make");
            }
        }

        foreach (var name in Kept)
        {
            if (saved[name] is { } value)
            {
                config[name] = value.DeepClone();
            }
        }

        if (config["memory"]?["zones"] is { } zones && !IsEmpty(zones))
        {
            throw Invalid(vmName, "its config.json has memory zones, which VmPs does not make");
        }

        foreach (var (name, members) in Owned)
        {
            if (Device(vmName, name, saved[name], own[name], members) is { } device)
            {
                config[name] = device;
            }
        }

        // CH requires the debug console's mode; VmPs never turns the port on, and a file or socket mode would open a host file.
        if (config["debug_console"]?["mode"] is { } mode && mode.GetValueKind() == JsonValueKind.String && mode.GetValue<string>() != "Off")
        {
            throw Invalid(vmName, $"its config.json turns the debug console on ({mode.GetValue<string>()}), which VmPs does not");
        }

        return config;
    }

    /// <summary>A device (or list of devices) with its own members from the launch; null when neither has one.</summary>
    private static JsonNode? Device(string vmName, string name, JsonNode? saved, JsonNode? own, string[] members)
    {
        if (saved is JsonArray || own is JsonArray)
        {
            var savedList = saved as JsonArray ?? (IsEmpty(saved) ? [] : throw Invalid(vmName, $"its config.json's '{name}' is not a list"));
            var ownList = own as JsonArray ?? [];
            if (savedList.Count != ownList.Count)
            {
                throw Invalid(vmName, $"its config.json has {savedList.Count} '{name}' devices, and the VM has {ownList.Count}");
            }

            return saved is null && ownList.Count == 0 ? null : new JsonArray([.. savedList.Zip(ownList, (entry, ours) => Entry(vmName, name, entry, ours, members))]);
        }

        return IsEmpty(saved) && own is null ? null : Entry(vmName, name, saved, own, members);
    }

    private static JsonObject Entry(string vmName, string name, JsonNode? saved, JsonNode? own, string[] members)
    {
        var entry = saved switch
        {
            JsonObject device => (JsonObject)device.DeepClone(),
            null => [],
            _ => throw Invalid(vmName, $"its config.json's '{name}' is not an object"),
        };
        foreach (var member in members)
        {
            entry.Remove(member);
            if (own?[member] is { } value)
            {
                entry[member] = value.DeepClone();
            }
        }

        return entry;
    }

    /// <summary>What CH writes for a device or option a VM does not have.</summary>
    private static bool IsEmpty(JsonNode? value) => value switch
    {
        null => true,
        JsonArray array => array.Count == 0,
        JsonValue scalar => scalar.TryGetValue<bool>(out var flag) && !flag,
        _ => false,
    };

    private static JsonObject Own(VmLaunchSpec spec) =>
        (JsonObject)JsonSerializer.SerializeToNode(CloudHypervisorVmConfigBuilder.Build(spec), CloudHypervisorJsonContext.Default.VmConfig)!;

    /// <summary>config.json, read at most <see cref="MaxConfigBytes"/> and only from a regular file (never through a link), as a JSON object.</summary>
    private static JsonObject ReadConfig(string vmName, string path)
    {
        if (UnixFileSystem.TryGetStatus(path) is not { Kind: FileKind.File } status)
        {
            throw Invalid(vmName, $"its {ConfigFile} is missing or not a regular file");
        }

        if (status.Size > MaxConfigBytes)
        {
            throw Invalid(vmName, $"its {ConfigFile} has {status.Size} bytes, more than the {MaxConfigBytes} a VM's configuration takes");
        }

        using var handle = UnixDirectoryCalls.Open(UnixDirectoryCalls.CurrentDirectory, path, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenNoFollow);
        var bytes = new byte[MaxConfigBytes + 1];
        var length = 0;
        int read;
        while (length < bytes.Length && (read = RandomAccess.Read(handle, bytes.AsSpan(length), length)) > 0)
        {
            length += read;
        }

        if (length > MaxConfigBytes)
        {
            throw Invalid(vmName, $"its {ConfigFile} grew beyond {MaxConfigBytes} bytes while it was read");
        }

        try
        {
            return JsonNode.Parse(bytes.AsSpan(0, length)) as JsonObject ?? throw Invalid(vmName, $"its {ConfigFile} is not a JSON object");
        }
        catch (JsonException error)
        {
            throw Invalid(vmName, $"its {ConfigFile} is not valid JSON ({error.Message})");
        }
    }

    private static VmPsException Invalid(string vmName, string reason) => Vms.VmSavedState.Invalid(vmName, reason);
}
