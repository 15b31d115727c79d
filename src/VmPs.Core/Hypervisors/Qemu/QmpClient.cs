using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// A QEMU Machine Protocol session over QEMU's Unix socket: newline-delimited JSON, a greeting,
/// capability negotiation, then commands answered by "return" or "error" objects carrying the
/// command's id, with asynchronous "event" objects interleaved (skipped here).
/// QEMU serves one client per monitor socket at a time, so keep sessions short.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly StreamReader reader;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly string socketPath;
    private long nextId;

    private QmpClient(Socket socket, string socketPath)
    {
        this.socket = socket;
        this.socketPath = socketPath;
        stream = new NetworkStream(socket, ownsSocket: false);
        reader = new StreamReader(stream, Encoding.UTF8);
    }

    /// <summary>QEMU's version from the greeting, e.g. "7.2.22".</summary>
    public string? QemuVersion { get; private set; }

    /// <summary>Connects, reads the greeting and leaves negotiation mode, so commands can be executed.</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        QmpClient? client = null;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            client = new QmpClient(socket, socketPath);
            await client.NegotiateAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (Exception ex)
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            if (ex is SocketException or IOException)
            {
                throw new VmPsException(VmPsErrorIds.QmpConnectionFailed, VmPsErrorKind.ConnectionError, $"Cannot talk to QEMU's QMP socket '{socketPath}': {ex.Message}", socketPath, ex);
            }

            throw;
        }
    }

    /// <summary>Runs one command and returns its "return" value; a QMP error becomes a <see cref="VmPsException"/> with QEMU's description.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var id = Interlocked.Increment(ref nextId);
            var request = new JsonObject { ["execute"] = command, ["id"] = id };
            if (arguments is not null)
            {
                request["arguments"] = arguments;
            }

            await SendAsync(request, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var message = await ReceiveAsync(cancellationToken).ConfigureAwait(false)
                    ?? throw new VmPsException(VmPsErrorIds.QmpConnectionClosed, VmPsErrorKind.ConnectionError, $"QEMU closed the QMP connection before answering '{command}'.", socketPath);
                if (message["id"]?.GetValue<long>() != id)
                {
                    continue;
                }

                if (message["error"] is JsonObject error)
                {
                    var errorClass = error["class"]?.GetValue<string>() ?? "GenericError";
                    var description = error["desc"]?.GetValue<string>() ?? error.ToJsonString();
                    throw new VmPsException(VmPsErrorIds.QmpCommandFailed, VmPsErrorKind.InvalidOperation, $"QEMU rejected '{command}': {description} ({errorClass}).", command);
                }

                return message["return"];
            }
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<JsonNode?> ExecuteAsync(string command, CancellationToken cancellationToken) => ExecuteAsync(command, null, cancellationToken);

    /// <summary>The VM's run state ("running", "paused", "prelaunch", "shutdown", ...).</summary>
    public async Task<string> QueryStatusAsync(CancellationToken cancellationToken)
    {
        var result = await ExecuteAsync("query-status", cancellationToken).ConfigureAwait(false);
        return result?["status"]?.GetValue<string>()
            ?? throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, "QEMU's query-status answer has no 'status'.", socketPath);
    }

    public Task SystemPowerdownAsync(CancellationToken cancellationToken) => ExecuteAsync("system_powerdown", cancellationToken);

    /// <summary>Asks QEMU to exit at once. QEMU may close the connection before or right after answering; both mean success.</summary>
    public async Task QuitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync("quit", cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.QmpConnectionClosed)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        reader.Dispose();
        await stream.DisposeAsync().ConfigureAwait(false);
        socket.Dispose();
        gate.Dispose();
    }

    private async Task NegotiateAsync(CancellationToken cancellationToken)
    {
        var greeting = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        if (greeting?["QMP"] is not JsonObject qmp)
        {
            throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, $"'{socketPath}' did not greet like a QMP server.", socketPath);
        }

        if (qmp["version"]?["qemu"] is JsonObject version)
        {
            QemuVersion = $"{version["major"]}.{version["minor"]}.{version["micro"]}";
        }

        await ExecuteAsync("qmp_capabilities", cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
        try
        {
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new VmPsException(VmPsErrorIds.QmpConnectionClosed, VmPsErrorKind.ConnectionError, $"QEMU closed the QMP connection: {ex.Message}", socketPath, ex);
        }
    }

    /// <summary>Reads the next JSON object, or null when QEMU closed (or reset) the connection.</summary>
    private async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return null;
            }

            if (line is null)
            {
                return null;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                return JsonNode.Parse(line) as JsonObject
                    ?? throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, $"QMP sent a non-object message: {line}", socketPath);
            }
            catch (JsonException ex)
            {
                throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, $"QMP sent invalid JSON: {line}", socketPath, ex);
            }
        }
    }
}
