using System.Text.Json;
using System.Text.Json.Serialization;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>One event from CH's event monitor; <see cref="Timestamp"/> counts from the VMM's start.</summary>
public sealed record CloudHypervisorEvent(
    TimeSpan Timestamp,
    string Source,
    string Event,
    IReadOnlyDictionary<string, string> Properties)
{
    public bool Is(string source, string name) => Source == source && Event == name;
}

/// <summary>Sources and names of the events VmPs acts on.</summary>
public static class CloudHypervisorEvents
{
    public const string VmmSource = "vmm";
    public const string VmSource = "vm";
    public const string GuestSource = "guest";

    public const string Booting = "booting";
    public const string Booted = "booted";
    public const string Shutdown = "shutdown";
    public const string Paused = "paused";
    public const string Resumed = "resumed";
    public const string Rebooted = "rebooted";
    public const string Restored = "restored";
    public const string Deleted = "deleted";
    public const string Panic = "panic";
}

/// <summary>How a cloud-hypervisor process ended, judged from its events after it is gone.</summary>
public enum CloudHypervisorExit
{
    /// <summary>The guest powered off: CH shut the VM and itself down before VmPs asked it to.</summary>
    GuestPowerOff,

    /// <summary>The VMM shut down as VmPs asked (vm.shutdown, vmm.shutdown).</summary>
    Stopped,

    /// <summary>The guest kernel reported a panic (CH's pvpanic device) in its last boot.</summary>
    GuestPanic,

    /// <summary>The process died without shutting down: a crash or a kill.</summary>
    Unexpected,
}

/// <summary>
/// Reads the file given by --event-monitor while CH appends to it: pretty-printed JSON objects
/// separated by a blank line. Only complete objects are returned; a partial one at the end waits for
/// the next read.
/// </summary>
public sealed class CloudHypervisorEventMonitor
{
    private readonly List<CloudHypervisorEvent> events = [];
    private long offset;

    public CloudHypervisorEventMonitor(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Every complete event read so far.</summary>
    public IReadOnlyList<CloudHypervisorEvent> Events => events;

    /// <summary>Reads what CH appended since the last call and returns the events it completed.</summary>
    public async Task<IReadOnlyList<CloudHypervisorEvent>> ReadNewAsync(CancellationToken cancellationToken)
    {
        byte[] appended;
        try
        {
            await using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
            if (file.Length <= offset)
            {
                return [];
            }

            file.Position = offset;
            appended = new byte[file.Length - offset];
            await file.ReadExactlyAsync(appended, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return [];
        }

        var parsed = Parse(appended, out var consumed);
        offset += consumed;
        events.AddRange(parsed);
        return parsed;
    }

    /// <summary>Waits (polling the file) until an event from <paramref name="source"/> named <paramref name="name"/> arrives.</summary>
    public async Task<CloudHypervisorEvent> WaitForAsync(string source, string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            await ReadNewAsync(cancellationToken).ConfigureAwait(false);
            if (events.FirstOrDefault(e => e.Is(source, name)) is { } found)
            {
                return found;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Judges, once the process is gone, how it ended. CH writes the same events (vm shutdown, vm deleted, vmm shutdown)
    /// whether the guest powered off or it was asked to shut down (or got SIGTERM), so which came first tells them apart:
    /// <paramref name="requestedAt"/> is how many of <paramref name="events"/> it wrote before VmPs asked (all of them
    /// when VmPs never did). Only the last boot counts: a guest reset reboots the VM inside the same VMM (vm rebooted).
    /// </summary>
    public static CloudHypervisorExit ClassifyExit(IReadOnlyList<CloudHypervisorEvent> events, int requestedAt)
    {
        var boot = LastIndex(events, IsBoot) + 1;
        if (events.Skip(boot).Any(e => e.Is(CloudHypervisorEvents.GuestSource, CloudHypervisorEvents.Panic)))
        {
            return CloudHypervisorExit.GuestPanic;
        }

        var shutdown = FirstIndex(events, boot, e => e.Is(CloudHypervisorEvents.VmSource, CloudHypervisorEvents.Shutdown) || e.Is(CloudHypervisorEvents.VmmSource, CloudHypervisorEvents.Shutdown));
        return shutdown < 0 ? CloudHypervisorExit.Unexpected
            : shutdown < requestedAt ? CloudHypervisorExit.GuestPowerOff
            : CloudHypervisorExit.Stopped;
    }

    /// <summary>
    /// How the last run of the VM in <paramref name="vmDirectory"/> ended, from the end of its event monitor file (the
    /// VMM writes it unbounded; only <see cref="Logs.LogTail.MaxBytes"/> are read) and VmPs's stop request.
    /// </summary>
    internal static HypervisorExit ReadExit(string vmDirectory)
    {
        var files = CloudHypervisorVmFiles.In(vmDirectory);
        var tail = Logs.LogTail.Read(files.EventMonitor);
        var file = new FileInfo(files.EventMonitor);
        var tailStart = (file.Exists ? file.Length : 0) - tail.Length;
        var cut = ReadStopRequest(files) is { } requested ? (int)Math.Clamp(requested - tailStart, 0, tail.Length) : tail.Length;
        var before = Parse(tail.AsSpan(0, cut), out _);
        var after = Parse(tail.AsSpan(cut), out _);
        return ClassifyExit([.. before, .. after], before.Count) switch
        {
            CloudHypervisorExit.GuestPowerOff => new HypervisorExit(true, "Cloud Hypervisor recorded that the guest powered off."),
            CloudHypervisorExit.Stopped => new HypervisorExit(false, "Cloud Hypervisor shut down as VmPs asked."),
            CloudHypervisorExit.GuestPanic => new HypervisorExit(false, "Cloud Hypervisor recorded a guest kernel panic."),
            _ => HypervisorExit.Unrecorded,
        };
    }

    /// <summary>Notes, before VmPs asks the VMM to shut down, how much of the event monitor file it had written (the first request counts).</summary>
    internal static void RecordStopRequest(CloudHypervisorVmFiles files)
    {
        if (File.Exists(files.StopRequest))
        {
            return;
        }

        var file = new FileInfo(files.EventMonitor);
        using var record = State.PrivateFiles.Open(files.StopRequest, FileMode.Create, FileAccess.Write);
        record.Write(System.Text.Encoding.ASCII.GetBytes((file.Exists ? file.Length : 0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static long? ReadStopRequest(CloudHypervisorVmFiles files)
    {
        try
        {
            var text = File.ReadAllText(files.StopRequest);
            return text.Length <= 20 && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : null;
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The end of a boot: the VM runs the guest from here on.</summary>
    private static bool IsBoot(CloudHypervisorEvent item) =>
        item.Source == CloudHypervisorEvents.VmSource && item.Event is CloudHypervisorEvents.Booted or CloudHypervisorEvents.Rebooted or CloudHypervisorEvents.Restored;

    private static int FirstIndex(IReadOnlyList<CloudHypervisorEvent> events, int from, Func<CloudHypervisorEvent, bool> match)
    {
        for (var index = from; index < events.Count; index++)
        {
            if (match(events[index]))
            {
                return index;
            }
        }

        return -1;
    }

    private static int LastIndex(IReadOnlyList<CloudHypervisorEvent> events, Func<CloudHypervisorEvent, bool> match)
    {
        for (var index = events.Count - 1; index >= 0; index--)
        {
            if (match(events[index]))
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>
    /// Parses the complete objects at the start of <paramref name="data"/>; <paramref name="consumed"/>
    /// is where the first incomplete one starts. A malformed object is skipped up to the next blank line.
    /// </summary>
    public static IReadOnlyList<CloudHypervisorEvent> Parse(ReadOnlySpan<byte> data, out int consumed)
    {
        var parsed = new List<CloudHypervisorEvent>();
        consumed = 0;
        while (true)
        {
            var start = SkipWhitespace(data, consumed);
            if (start == data.Length)
            {
                consumed = start;
                return parsed;
            }

            var length = CompleteValueLength(data[start..]);
            if (length is null)
            {
                consumed = start;
                return parsed;
            }

            if (length > 0 && TryReadEvent(data.Slice(start, length.Value)) is { } item)
            {
                parsed.Add(item);
                consumed = start + length.Value;
                continue;
            }

            var separator = data[start..].IndexOf("\n\n"u8);
            if (separator < 0)
            {
                // The broken object may still be being written; look again once the separator is there.
                consumed = start;
                return parsed;
            }

            consumed = start + separator + 2;
        }
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> data, int index)
    {
        while (index < data.Length && data[index] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            index++;
        }

        return index;
    }

    /// <summary>Length of the JSON value at the start, null when it is not complete yet, 0 when it is not JSON.</summary>
    private static int? CompleteValueLength(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, isFinalBlock: false, state: default);
        try
        {
            if (!reader.Read())
            {
                return null;
            }

            if (!reader.TrySkip())
            {
                return null;
            }

            return (int)reader.BytesConsumed;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    private static CloudHypervisorEvent? TryReadEvent(ReadOnlySpan<byte> json)
    {
        try
        {
            var wire = JsonSerializer.Deserialize(json, EventMonitorJsonContext.Default.WireEvent);
            if (wire?.Source is null || wire.Event is null)
            {
                return null;
            }

            var timestamp = wire.Timestamp is { } t
                ? TimeSpan.FromSeconds(t.Secs) + TimeSpan.FromTicks(t.Nanos / 100)
                : TimeSpan.Zero;
            return new CloudHypervisorEvent(
                timestamp,
                wire.Source,
                wire.Event,
                wire.Properties ?? new Dictionary<string, string>());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal sealed record WireTimestamp(long Secs, long Nanos);

    internal sealed record WireEvent(WireTimestamp? Timestamp, string? Source, string? Event, Dictionary<string, string>? Properties);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CloudHypervisorEventMonitor.WireEvent))]
internal sealed partial class EventMonitorJsonContext : JsonSerializerContext;
