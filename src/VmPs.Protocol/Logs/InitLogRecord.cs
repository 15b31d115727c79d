using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VmPs.Protocol.Logs;

/// <summary>
/// One entry of the structured init log: what the guest init did in one boot phase. The init writes each
/// entry as one console line, <c>[vmps] log {"time":...,"level":...,"phase":...,"msg":...,"error":...}</c>,
/// so the host reads it from the console log it already keeps, while the VM runs and after it stopped.
/// </summary>
public sealed record InitLogRecord(
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("level")] string Level,
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("msg")] string Message,
    [property: JsonPropertyName("error")] string? Error = null)
{
    /// <summary>The marker in front of each entry's JSON on the console.</summary>
    public const string Marker = "[vmps] log ";

    public string ToConsoleLine() => Marker + JsonSerializer.Serialize(this, InitLogJsonContext.Default.InitLogRecord);

    /// <summary>
    /// Reads an entry from a console line. The marker may follow other text on the line (the kernel's own
    /// output can share a console line); a line whose JSON is cut or damaged is not an entry.
    /// </summary>
    public static bool TryParse(string consoleLine, [NotNullWhen(true)] out InitLogRecord? record)
    {
        record = null;
        var at = consoleLine.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        try
        {
            record = JsonSerializer.Deserialize(consoleLine.AsSpan(at + Marker.Length).TrimEnd(), InitLogJsonContext.Default.InitLogRecord);
        }
        catch (JsonException)
        {
            return false;
        }

        return record is { Level.Length: > 0, Phase.Length: > 0, Message: not null };
    }
}

/// <summary>Values of <see cref="InitLogRecord.Level"/>.</summary>
public static class InitLogLevels
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Error = "error";
}

/// <summary>Values of <see cref="InitLogRecord.Phase"/>, in boot order.</summary>
public static class InitLogPhases
{
    public const string Boot = "boot";
    public const string Modules = "modules";
    public const string Config = "config";
    public const string Disks = "disks";
    public const string Rootfs = "rootfs";
    public const string Network = "network";
    public const string Agent = "agent";
    public const string Entrypoint = "entrypoint";
    public const string Systemd = "systemd";
    public const string Poweroff = "poweroff";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InitLogRecord))]
internal sealed partial class InitLogJsonContext : JsonSerializerContext;
