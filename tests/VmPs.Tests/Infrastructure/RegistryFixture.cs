using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

public enum RegistryAuthMode
{
    /// <summary>No authentication.</summary>
    Open,

    /// <summary>htpasswd basic auth (needs apache2-utils' htpasswd).</summary>
    Basic,

    /// <summary>Bearer tokens from a token server the fixture runs on 127.0.0.1.</summary>
    Token,
}

/// <summary>
/// A real registry (Debian's docker-registry 2.8) on 127.0.0.1 with a free port and filesystem storage in a
/// temporary directory, killed on dispose. Use it as an xunit class fixture (<see cref="OpenRegistry"/>,
/// <see cref="BasicAuthRegistry"/>, <see cref="TokenAuthRegistry"/>) or with <see cref="StartAsync"/>.
/// Push test images with <see cref="PushImageAsync"/> and <see cref="PushIndexAsync"/>.
/// </summary>
public class RegistryFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string Username = "vmps";
    public const string Password = "vmps-registry-secret";

    private readonly RegistryAuthMode mode;
    private readonly ConcurrentQueue<string> log = new();
    private ScratchDirectory? scratch;
    private Process? process;
    private TestImagePusher? pusher;

    public RegistryFixture(RegistryAuthMode mode)
    {
        this.mode = mode;
    }

    public static RegistryCredentials Credentials { get; } = new(Username, Password);

    /// <summary>host:port, the registry part of references to this registry.</summary>
    public string Host { get; private set; } = string.Empty;

    /// <summary>Where the registry stores repositories and blobs (docker/registry/v2/...).</summary>
    public string StorageDirectory => scratch!.Combine("storage");

    /// <summary>The token server, in <see cref="RegistryAuthMode.Token"/> mode.</summary>
    public TestTokenServer? TokenServer { get; private set; }

    /// <summary>The registry's log lines so far (stdout and stderr).</summary>
    public IReadOnlyCollection<string> Log => log;

    public static async Task<RegistryFixture> StartAsync(RegistryAuthMode mode)
    {
        var registry = new RegistryFixture(mode);
        await registry.InitializeAsync();
        return registry;
    }

    public ImageReference Reference(string repository, string tagOrDigest) =>
        ImageReference.Parse(tagOrDigest.StartsWith("sha256:", StringComparison.Ordinal) ? $"{Host}/{repository}@{tagOrDigest}" : $"{Host}/{repository}:{tagOrDigest}");

    /// <summary>Builds an image from layer tars and pushes its blobs and manifest under <paramref name="tag"/>.</summary>
    public async Task<TestImage> PushImageAsync(
        string repository,
        string? tag,
        IReadOnlyList<byte[]> layers,
        OciImageConfig? config = null,
        bool gzip = true,
        TestManifestFormat format = TestManifestFormat.Oci,
        string? layerMediaType = null)
    {
        var image = TestImage.Build(layers, config, gzip, format, layerMediaType);
        await pusher!.PushImageAsync(repository, tag, image);
        return image;
    }

    /// <summary>Pushes the images (by digest) and an index of them under <paramref name="tag"/>; returns the index digest.</summary>
    public async Task<string> PushIndexAsync(
        string repository,
        string tag,
        IReadOnlyList<(OciPlatform Platform, TestImage Image)> images,
        TestManifestFormat format = TestManifestFormat.Oci)
    {
        foreach (var (_, image) in images)
        {
            await pusher!.PushImageAsync(repository, tag: null, image);
        }

        var index = TestImage.Index(images, format);
        await pusher!.PushManifestAsync(repository, tag, index);
        return index.Descriptor.Digest;
    }

    /// <summary>Flips the last byte of a stored blob, so the registry serves content that does not match its digest.</summary>
    public void CorruptBlob(string digest)
    {
        var hex = BlobDigest.Hex(digest);
        var path = Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
        var content = File.ReadAllBytes(path);
        content[^1] ^= 0xff;
        File.WriteAllBytes(path, content);
    }

    public async Task InitializeAsync()
    {
        scratch = new ScratchDirectory();
        if (MissingPrerequisite())
        {
            // xunit builds class fixtures even when every test is skipped; those tests report the missing program.
            return;
        }

        var port = FreePort();
        Host = $"127.0.0.1:{port}";
        var configPath = scratch.Combine("config.yml");
        await File.WriteAllTextAsync(configPath, await ConfigYamlAsync(port));

        process = Process.Start(new ProcessStartInfo("docker-registry", ["serve", configPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("docker-registry did not start");
        process.OutputDataReceived += (_, line) => Record(line.Data);
        process.ErrorDataReceived += (_, line) => Record(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await WaitUntilAnsweringAsync();
        pusher = new TestImagePusher(Host, Authorize);
    }

    public async Task DisposeAsync()
    {
        pusher?.Dispose();
        if (process is not null)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        if (TokenServer is not null)
        {
            await TokenServer.DisposeAsync();
        }

        scratch?.Dispose();
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    private void Record(string? line)
    {
        if (line is not null)
        {
            log.Enqueue(line);
        }
    }

    private async Task<string> ConfigYamlAsync(int port)
    {
        var auth = string.Empty;
        if (mode == RegistryAuthMode.Basic)
        {
            var htpasswd = await ExternalTool.RunCheckedAsync("htpasswd", ["-Bbn", Username, Password], CancellationToken.None);
            var path = scratch!.Combine("htpasswd");
            await File.WriteAllTextAsync(path, htpasswd.StandardOutput.Trim() + "\n");
            auth = $"auth:\n  htpasswd:\n    realm: vmps-test\n    path: {path}\n";
        }
        else if (mode == RegistryAuthMode.Token)
        {
            TokenServer = TestTokenServer.Start(FreePort(), Username, Password);
            var bundle = scratch!.Combine("token-ca.pem");
            await File.WriteAllTextAsync(bundle, TokenServer.CertificatePem);
            auth = $"auth:\n  token:\n    realm: {TokenServer.Realm}\n    service: {TestTokenServer.Service}\n    issuer: {TestTokenServer.Issuer}\n    rootcertbundle: {bundle}\n";
        }

        return $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {StorageDirectory}
            http:
              addr: 127.0.0.1:{port}
              secret: vmps-test-secret
            {auth}
            """;
    }

    private AuthenticationHeaderValue? Authorize(string repository) => mode switch
    {
        RegistryAuthMode.Basic => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Username}:{Password}"))),
        RegistryAuthMode.Token => new AuthenticationHeaderValue("Bearer", TokenServer!.Issue(Username, [new TokenAccess(repository, ["pull", "push"])])),
        _ => null,
    };

    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process!.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {process.ExitCode}:\n{string.Join('\n', log)}");
            }

            try
            {
                using var response = await http.GetAsync($"http://{Host}/v2/");
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"docker-registry did not answer on {Host}:\n{string.Join('\n', log)}");
    }

    private bool MissingPrerequisite() =>
        DetachedProcess.FindOnPath("docker-registry") is null || (mode == RegistryAuthMode.Basic && DetachedProcess.FindOnPath("htpasswd") is null);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An open registry (no auth), one per test class.</summary>
public sealed class OpenRegistry() : RegistryFixture(RegistryAuthMode.Open);

/// <summary>A registry with htpasswd basic auth (<see cref="RegistryFixture.Credentials"/>).</summary>
public sealed class BasicAuthRegistry() : RegistryFixture(RegistryAuthMode.Basic);

/// <summary>A registry with token auth: anonymous pulls of public/* repositories, everything else needs credentials.</summary>
public sealed class TokenAuthRegistry() : RegistryFixture(RegistryAuthMode.Token);
