using System.Buffers.Binary;
using System.Text.Json;

namespace VmPs.Protocol.Config;

/// <summary>
/// The raw config disk: 8-byte magic "VMPSCFG1", little-endian uint32 JSON length, UTF-8 JSON of
/// <see cref="GuestConfig"/>, zero padding up to a multiple of 4 KiB (a whole number of sectors).
/// </summary>
public static class ConfigDisk
{
    public const int BlockSize = 4096;
    public const int HeaderSize = 12;
    public const int MaxJsonLength = 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "VMPSCFG1"u8;

    /// <summary>The disk image bytes for <paramref name="config"/>.</summary>
    public static byte[] Serialize(GuestConfig config)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(config, ProtocolJsonContext.Default.GuestConfig);
        if (json.Length > MaxJsonLength)
        {
            throw new ArgumentException($"The guest config is {json.Length} bytes of JSON; the config disk holds at most {MaxJsonLength}.", nameof(config));
        }

        var image = new byte[(HeaderSize + json.Length + BlockSize - 1) / BlockSize * BlockSize];
        Magic.CopyTo(image);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(Magic.Length), (uint)json.Length);
        json.CopyTo(image, HeaderSize);
        return image;
    }

    public static void Write(Stream destination, GuestConfig config) => destination.Write(Serialize(config));

    public static Task WriteAsync(Stream destination, GuestConfig config, CancellationToken cancellationToken) =>
        destination.WriteAsync(Serialize(config), cancellationToken).AsTask();

    /// <summary>Reads a config disk; throws <see cref="InvalidDataException"/> naming what is wrong with it.</summary>
    public static GuestConfig Read(Stream source)
    {
        var header = new byte[HeaderSize];
        ReadExactly(source, header, "header");
        var length = ParseHeader(header);
        var json = new byte[length];
        ReadExactly(source, json, $"{length}-byte config");
        return Parse(json);
    }

    public static async Task<GuestConfig> ReadAsync(Stream source, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderSize];
        await ReadExactlyAsync(source, header, "header", cancellationToken).ConfigureAwait(false);
        var json = new byte[ParseHeader(header)];
        await ReadExactlyAsync(source, json, $"{json.Length}-byte config", cancellationToken).ConfigureAwait(false);
        return Parse(json);
    }

    private static int ParseHeader(ReadOnlySpan<byte> header)
    {
        if (!header[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException(
                $"Not a VmPs config disk: expected magic \"VMPSCFG1\", found {Convert.ToHexString(header[..Magic.Length])}.");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header[Magic.Length..]);
        if (length is 0 or > MaxJsonLength)
        {
            throw new InvalidDataException($"The config disk declares {length} bytes of config; expected 1 to {MaxJsonLength}.");
        }

        return (int)length;
    }

    private static GuestConfig Parse(byte[] json)
    {
        GuestConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, ProtocolJsonContext.Default.GuestConfig);
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"The config disk holds malformed JSON: {error.Message}", error);
        }

        if (config is null)
        {
            throw new InvalidDataException("The config disk holds JSON null instead of a config.");
        }

        if (config.SchemaVersion is < 1 or > GuestConfig.CurrentSchemaVersion)
        {
            throw new InvalidDataException(
                $"The config disk has schema version {config.SchemaVersion}; this guest understands 1 to {GuestConfig.CurrentSchemaVersion}. " +
                "Rebuild the initrd so host and guest match.");
        }

        return config;
    }

    private static void ReadExactly(Stream source, byte[] buffer, string what)
    {
        try
        {
            source.ReadExactly(buffer);
        }
        catch (EndOfStreamException error)
        {
            throw new InvalidDataException($"The config disk ends before its {what}.", error);
        }
    }

    private static async Task ReadExactlyAsync(Stream source, byte[] buffer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await source.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException error)
        {
            throw new InvalidDataException($"The config disk ends before its {what}.", error);
        }
    }
}
