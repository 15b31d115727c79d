using System.Text.Json;
using System.Text.Json.Nodes;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Checks a vm.create body against the VmConfig schema of CH's OpenAPI document (required members,
/// types, enums, the vsock CID minimum). It is written independently of VmPs's own models so that a
/// mistake there cannot hide here. Returns CH-style error messages, or none when the body is valid.
/// </summary>
internal static class FakeCloudHypervisorConfigValidator
{
    private static readonly string[] ConsoleModes = ["Off", "Pty", "Tty", "File", "Socket", "Null"];
    private static readonly string[] ImageTypes = ["FlatVmdk", "FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown"];

    public static string? Validate(string? body, out JsonObject? config)
    {
        config = null;
        if (body is null)
        {
            return "missing request body";
        }

        try
        {
            config = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }

        if (config is null)
        {
            return "invalid type: expected struct VmConfig";
        }

        return Object(config, "payload", required: true, ValidatePayload)
            ?? Object(config, "cpus", required: false, ValidateCpus)
            ?? Object(config, "memory", required: false, memory => Integer(memory, "memory.size", "size", required: true, minimum: 0))
            ?? Array(config, "disks", ValidateDisk)
            ?? Array(config, "net", ValidateNet)
            ?? Object(config, "rng", required: false, rng => String(rng, "rng.src", "src", required: true))
            ?? Object(config, "vsock", required: false, ValidateVsock)
            ?? Object(config, "serial", required: false, ValidateConsole)
            ?? Object(config, "console", required: false, ValidateConsole)
            ?? Array(config, "fs", ValidateFs)
            ?? (config["fs"] is JsonArray { Count: > 0 } && config["memory"]?["shared"]?.GetValue<bool>() != true && config["memory"]?["hugepages"]?.GetValue<bool>() != true
                ? "Error validating configuration: Using vhost-user requires using shared memory or huge pages"
                : null);
    }

    /// <summary>FsConfig: tag, socket, num_queues and queue_size are required; a virtio-fs tag is at most 36 bytes.</summary>
    private static string? ValidateFs(JsonObject fs) =>
        String(fs, "fs.tag", "tag", required: true)
        ?? String(fs, "fs.socket", "socket", required: true)
        ?? Integer(fs, "fs.num_queues", "num_queues", required: true, minimum: 1)
        ?? Integer(fs, "fs.queue_size", "queue_size", required: true, minimum: 1)
        ?? String(fs, "fs.id", "id", required: false)
        ?? (fs["tag"]!.GetValue<string>() is { Length: 0 or > 36 } ? "Error validating configuration: virtio-fs tag must be 1 to 36 bytes" : null);

    /// <summary>Validates a single DiskConfig (the body of vm.add-disk).</summary>
    public static string? ValidateDisk(string? body, out JsonObject? disk)
    {
        disk = null;
        try
        {
            disk = body is null ? null : JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }

        return disk is null ? "invalid type: expected struct DiskConfig" : ValidateDisk(disk);
    }

    private static string? ValidatePayload(JsonObject payload) =>
        String(payload, "payload.kernel", "kernel", required: false)
        ?? String(payload, "payload.initramfs", "initramfs", required: false)
        ?? String(payload, "payload.cmdline", "cmdline", required: false)
        ?? String(payload, "payload.firmware", "firmware", required: false)
        ?? (payload["kernel"] is null && payload["firmware"] is null ? "payload: a kernel or a firmware is required" : null);

    private static string? ValidateCpus(JsonObject cpus) =>
        Integer(cpus, "cpus.boot_vcpus", "boot_vcpus", required: true, minimum: 1)
        ?? Integer(cpus, "cpus.max_vcpus", "max_vcpus", required: true, minimum: 1);

    private static string? ValidateDisk(JsonObject disk) =>
        String(disk, "disks.path", "path", required: false)
        ?? Boolean(disk, "disks.readonly", "readonly")
        ?? String(disk, "disks.serial", "serial", required: false)
        ?? String(disk, "disks.id", "id", required: false)
        ?? Enum(disk, "disks.image_type", "image_type", ImageTypes, required: false);

    private static string? ValidateNet(JsonObject net) =>
        String(net, "net.tap", "tap", required: false)
        ?? String(net, "net.ip", "ip", required: false)
        ?? String(net, "net.mask", "mask", required: false)
        ?? String(net, "net.mac", "mac", required: false)
        ?? String(net, "net.host_mac", "host_mac", required: false)
        ?? Integer(net, "net.mtu", "mtu", required: false, minimum: 0)
        ?? Boolean(net, "net.iommu", "iommu")
        ?? Integer(net, "net.num_queues", "num_queues", required: false, minimum: 1)
        ?? Integer(net, "net.queue_size", "queue_size", required: false, minimum: 1)
        ?? String(net, "net.id", "id", required: false);

    private static string? ValidateVsock(JsonObject vsock) =>
        Integer(vsock, "vsock.cid", "cid", required: true, minimum: 3)
        ?? String(vsock, "vsock.socket", "socket", required: true);

    private static string? ValidateConsole(JsonObject console) =>
        Enum(console, "mode", "mode", ConsoleModes, required: true)
        ?? String(console, "file", "file", required: false);

    private static string? Object(JsonObject parent, string name, bool required, Func<JsonObject, string?> validate) => parent[name] switch
    {
        null => required ? $"missing field `{name}`" : null,
        JsonObject child => validate(child),
        _ => $"{name}: invalid type, expected an object",
    };

    private static string? Array(JsonObject parent, string name, Func<JsonObject, string?> validate) => parent[name] switch
    {
        null => null,
        JsonArray items => items.Select(item => item is JsonObject child ? validate(child) : $"{name}: invalid type, expected objects")
            .FirstOrDefault(error => error is not null),
        _ => $"{name}: invalid type, expected an array",
    };

    private static string? String(JsonObject parent, string label, string name, bool required) => parent[name] switch
    {
        null => required ? $"missing field `{name}` in {label}" : null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => null,
        _ => $"{label}: invalid type, expected a string",
    };

    private static string? Boolean(JsonObject parent, string label, string name) => parent[name] switch
    {
        null => null,
        JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False => null,
        _ => $"{label}: invalid type, expected a boolean",
    };

    private static string? Integer(JsonObject parent, string label, string name, bool required, long minimum) => parent[name] switch
    {
        null => required ? $"missing field `{name}` in {label}" : null,
        JsonValue value when value.TryGetValue<long>(out var number) =>
            number >= minimum ? null : $"{label}: {number} is below the minimum {minimum}",
        _ => $"{label}: invalid type, expected an integer",
    };

    private static string? Enum(JsonObject parent, string label, string name, string[] allowed, bool required) => parent[name] switch
    {
        null => required ? $"missing field `{name}`" : null,
        JsonValue value when value.TryGetValue<string>(out var text) && allowed.Contains(text) => null,
        var other => $"{label}: unknown variant `{other}`, expected one of {string.Join(", ", allowed)}",
    };
}
