using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol;

/// <summary>Source-generated JSON metadata for every message and the guest config (no reflection: AOT-safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(HelloAckMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(PongMessage))]
[JsonSerializable(typeof(ExecStartMessage))]
[JsonSerializable(typeof(ExecStartedMessage))]
[JsonSerializable(typeof(ExecExitMessage))]
[JsonSerializable(typeof(SignalMessage))]
[JsonSerializable(typeof(ShutdownMessage))]
[JsonSerializable(typeof(TerminalSizeMessage))]
[JsonSerializable(typeof(CreditMessage))]
[JsonSerializable(typeof(ClockSyncMessage))]
[JsonSerializable(typeof(ClockSyncedMessage))]
[JsonSerializable(typeof(FileRequestMessage))]
[JsonSerializable(typeof(FileReadyMessage))]
[JsonSerializable(typeof(FileResultMessage))]
[JsonSerializable(typeof(FileEntriesMessage))]
[JsonSerializable(typeof(GuestConfig))]
[JsonSerializable(typeof(NetworkConfigureMessage))]
[JsonSerializable(typeof(NetworkConfiguredMessage))]
[JsonSerializable(typeof(VolumeMountMessage))]
[JsonSerializable(typeof(VolumeMountedMessage))]
[JsonSerializable(typeof(VolumeUnmountMessage))]
[JsonSerializable(typeof(IdentityApplyMessage))]
[JsonSerializable(typeof(IdentityAppliedMessage))]
[JsonSerializable(typeof(MetadataApplyMessage))]
[JsonSerializable(typeof(CpusOnlinedMessage))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext
{
}

public static class ProtocolJson
{
    /// <summary>Parses a peer's JSON payload; anything malformed becomes a <see cref="ProtocolException"/>.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> payload, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, typeInfo)
                ?? throw new ProtocolException($"Expected a {typeof(T).Name} message, got JSON null.");
        }
        catch (JsonException error)
        {
            throw new ProtocolException($"Malformed {typeof(T).Name} message: {error.Message}", error);
        }
    }
}
