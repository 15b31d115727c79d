using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VmPs.Core.Processes;

namespace VmPs.ImageBench;

/// <summary>docker-registry (Debian's distribution 2.8) serving from a directory on 127.0.0.1, for one benchmark run.</summary>
internal sealed class LocalRegistry : IAsyncDisposable
{
    private readonly Process process;

    private LocalRegistry(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public static async Task<LocalRegistry> StartAsync(string directory, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var config = Path.Combine(directory, "config.yml");
        await File.WriteAllTextAsync(
            config,
            $"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {Path.Combine(directory, "storage")}
            http:
              addr: 127.0.0.1:{port}
            """,
            cancellationToken);
        var executable = DetachedProcess.FindOnPath("docker-registry")
            ?? throw new InvalidOperationException("docker-registry is not installed (apt-get install docker-registry).");
        var start = new ProcessStartInfo(executable, ["serve", config]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var registry = new LocalRegistry(Process.Start(start)!, port);
        registry.process.OutputDataReceived += (_, _) => { };
        registry.process.ErrorDataReceived += (_, _) => { };
        registry.process.BeginOutputReadLine();
        registry.process.BeginErrorReadLine();
        await registry.WaitUntilServingAsync(cancellationToken);
        return registry;
    }

    public async ValueTask DisposeAsync()
    {
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
    }

    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress };
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                using var response = await client.GetAsync("v2/", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with code {process.ExitCode}.");
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new TimeoutException("docker-registry did not start serving within 10 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
