using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using VmPs.Core.Processes;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Cloud Hypervisor's REST API: HTTP/1.1 over the Unix socket given by --api-socket, base /api/v1.
/// Success is 204 without a body or 200 with JSON; errors carry a JSON array of strings.
/// </summary>
public sealed class CloudHypervisorApiClient : IDisposable
{
    public const string UnreachableErrorId = "CloudHypervisorUnreachable";

    private static readonly CloudHypervisorJsonContext Json = CloudHypervisorJsonContext.Default;
    private readonly HttpClient http;

    public CloudHypervisorApiClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => UnixSocketStreams.ConnectAsync(socketPath, cancellationToken),
            UseProxy = false,
        };
        http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/api/v1/") };
    }

    public string SocketPath { get; }

    public Task<VmmPingResponse> PingAsync(CancellationToken cancellationToken) =>
        GetAsync("vmm.ping", Json.VmmPingResponse, cancellationToken);

    public Task<VmInfoResponse> GetVmInfoAsync(CancellationToken cancellationToken) =>
        GetAsync("vm.info", Json.VmInfoResponse, cancellationToken);

    /// <summary>Per-device counters: device id to counter name to value.</summary>
    public Task<Dictionary<string, Dictionary<string, long>>> GetVmCountersAsync(CancellationToken cancellationToken) =>
        GetAsync("vm.counters", Json.DictionaryStringDictionaryStringInt64, cancellationToken);

    /// <summary>Stores the configuration; the VM does not run until <see cref="BootVmAsync"/>.</summary>
    public Task CreateVmAsync(VmConfig config, CancellationToken cancellationToken) =>
        PutAsync("vm.create", JsonSerializer.SerializeToUtf8Bytes(config, Json.VmConfig), cancellationToken);

    public Task BootVmAsync(CancellationToken cancellationToken) => PutAsync("vm.boot", null, cancellationToken);

    public Task ShutdownVmAsync(CancellationToken cancellationToken) => PutAsync("vm.shutdown", null, cancellationToken);

    public Task RebootVmAsync(CancellationToken cancellationToken) => PutAsync("vm.reboot", null, cancellationToken);

    /// <summary>Presses the ACPI power button; the guest decides what to do about it.</summary>
    public Task PressPowerButtonAsync(CancellationToken cancellationToken) => PutAsync("vm.power-button", null, cancellationToken);

    public Task PauseVmAsync(CancellationToken cancellationToken) => PutAsync("vm.pause", null, cancellationToken);

    public Task ResumeVmAsync(CancellationToken cancellationToken) => PutAsync("vm.resume", null, cancellationToken);

    /// <summary>Writes the paused VM's configuration, device state and memory into the directory (vm.snapshot).</summary>
    public Task SnapshotVmAsync(string directory, CancellationToken cancellationToken) =>
        PutAsync("vm.snapshot", JsonSerializer.SerializeToUtf8Bytes(new VmSnapshotConfig(FileUrl(directory)), Json.VmSnapshotConfig), cancellationToken);

    /// <summary>Creates the VM from a snapshot directory (vm.restore); it comes back paused. <paramref name="memory"/> null: CH's default.</summary>
    public Task RestoreVmAsync(string directory, MemoryRestoreMode? memory, CancellationToken cancellationToken) =>
        PutAsync("vm.restore", JsonSerializer.SerializeToUtf8Bytes(new RestoreConfig(FileUrl(directory), Prefault: false, memory), Json.RestoreConfig), cancellationToken);

    /// <summary>
    /// A directory as CH's snapshot URLs name it: CH strips "file://" and takes the rest as the path, undecoded, so
    /// the path is not percent-encoded as a URI would be.
    /// </summary>
    public static string FileUrl(string directory) => "file://" + Path.GetFullPath(directory);

    public Task DeleteVmAsync(CancellationToken cancellationToken) => PutAsync("vm.delete", null, cancellationToken);

    /// <summary>Hot-plugs or unplugs vCPUs and hot-plugs RAM into the running VM (vm.resize).</summary>
    public Task ResizeVmAsync(VmResize resize, CancellationToken cancellationToken) =>
        PutAsync("vm.resize", JsonSerializer.SerializeToUtf8Bytes(resize, Json.VmResize), cancellationToken);

    /// <summary>Deletes the VM and makes the cloud-hypervisor process exit.</summary>
    public Task ShutdownVmmAsync(CancellationToken cancellationToken) => PutAsync("vmm.shutdown", null, cancellationToken);

    /// <summary>Adds a disk: hot-plugged into a booted VM (returns its PCI address) or added to the configuration (null).</summary>
    public async Task<PciDeviceInfo?> AddDiskAsync(DiskConfig disk, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(disk, Json.DiskConfig);
        using var response = await SendAsync(HttpMethod.Put, "vm.add-disk", body, cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.NoContent
            ? null
            : await ReadJsonAsync(response, "vm.add-disk", Json.PciDeviceInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Unplugs the device added with this id (a hot-plugged disk, adapter or share) from the VM.</summary>
    public Task RemoveDeviceAsync(string id, CancellationToken cancellationToken) =>
        PutAsync("vm.remove-device", JsonSerializer.SerializeToUtf8Bytes(new VmRemoveDevice(id), Json.VmRemoveDevice), cancellationToken);

    public void Dispose() => http.Dispose();

    private async Task<T> GetAsync<T>(string operation, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, operation, null, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, operation, typeInfo, cancellationToken).ConfigureAwait(false);
    }

    private async Task PutAsync(string operation, byte[]? body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, operation, body, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, string operation, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(text, typeInfo)
                ?? throw new JsonException("The body is null.");
        }
        catch (JsonException ex)
        {
            throw new VmPsException(
                VmPsErrorIds.CloudHypervisorInvalidResponse,
                VmPsErrorKind.ProtocolError,
                $"Cloud Hypervisor answered {operation} with JSON VmPs cannot read: {ex.Message}",
                SocketPath,
                ex);
        }
    }

    /// <summary>Sends one request; returns the response only when it is a success.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string operation, byte[]? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, operation);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new VmPsException(
                UnreachableErrorId,
                VmPsErrorKind.ConnectionError,
                $"Cannot reach Cloud Hypervisor's API at '{SocketPath}' for {operation}: {ex.Message}",
                SocketPath,
                ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new CloudHypervisorApiException(operation, response.StatusCode, ParseErrorMessages(text), SocketPath);
        }
    }

    /// <summary>CH's error body is a JSON array of strings; anything else is passed on as it came.</summary>
    internal static IReadOnlyList<string> ParseErrorMessages(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return [];
        }

        try
        {
            if (JsonSerializer.Deserialize(body, Json.StringArray) is { } messages)
            {
                return messages;
            }
        }
        catch (JsonException)
        {
        }

        return [body.Trim()];
    }
}
