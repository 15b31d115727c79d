using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VmPs.Tests.Infrastructure;

/// <summary>One entry of a registry token's "access" claim.</summary>
public sealed record TokenAccess(string Repository, IReadOnlyList<string> Actions);

/// <summary>A request the token server answered: the user (null when anonymous) and the scope asked for.</summary>
public sealed record TokenRequest(string? User, string? Scope, bool Granted);

/// <summary>
/// The token service a token-auth registry sends clients to (docker's token protocol): GET /token?service=&amp;scope=,
/// optional basic auth, answers {"token": JWT}. JWTs are RS256, signed by a self-signed certificate carried in the
/// x5c header, which the registry trusts through its rootcertbundle. Anonymous clients may pull public/*;
/// the one user may pull and push everything; a wrong password is a 401.
/// </summary>
public sealed class TestTokenServer : IAsyncDisposable
{
    public const string Service = "vmps-test-registry";
    public const string Issuer = "vmps-test-token-issuer";

    private readonly HttpListener listener = new();
    private readonly RSA key = RSA.Create(2048);
    private readonly X509Certificate2 certificate;
    private readonly string username;
    private readonly string password;
    private readonly ConcurrentQueue<TokenRequest> requests = new();
    private readonly Task loop;

    private TestTokenServer(int port, string username, string password)
    {
        this.username = username;
        this.password = password;
        var request = new CertificateRequest("CN=vmps test token issuer", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Realm = $"http://127.0.0.1:{port}/token";
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public string Realm { get; }

    public string CertificatePem => certificate.ExportCertificatePem();

    public IReadOnlyCollection<TokenRequest> Requests => requests;

    public static TestTokenServer Start(int port, string username, string password) => new(port, username, password);

    /// <summary>A signed token granting <paramref name="access"/> to <paramref name="subject"/>.</summary>
    public string Issue(string subject, IEnumerable<TokenAccess> access)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject
        {
            ["typ"] = "JWT",
            ["alg"] = "RS256",
            ["x5c"] = new JsonArray(Convert.ToBase64String(certificate.RawData)),
        };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = now + 600,
            ["nbf"] = now - 60,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = new JsonArray(access.Select(entry => (JsonNode?)new JsonObject
            {
                ["type"] = "repository",
                ["name"] = entry.Repository,
                ["actions"] = new JsonArray(entry.Actions.Select(action => (JsonNode?)action).ToArray()),
            }).ToArray()),
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Close();
        try
        {
            await loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
            // The listener was stopped while waiting for a request.
        }

        certificate.Dispose();
        key.Dispose();
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var response = context.Response;
            var scope = context.Request.QueryString["scope"];
            var user = AuthenticatedUser(context.Request, out var rejected);
            if (rejected)
            {
                requests.Enqueue(new TokenRequest(null, scope, Granted: false));
                response.StatusCode = 401;
                continue;
            }

            requests.Enqueue(new TokenRequest(user, scope, Granted: true));
            var token = Issue(user ?? "anonymous", Grant(user, scope));
            var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["token"] = token, ["expires_in"] = 600 });
            response.ContentType = "application/json";
            await response.OutputStream.WriteAsync(body);
        }
    }

    private string? AuthenticatedUser(HttpListenerRequest request, out bool rejected)
    {
        rejected = false;
        var header = request.Headers["Authorization"];
        if (header is null || !header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return null;
        }

        var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..])).Split(':', 2);
        rejected = pair is not [var name, var secret] || name != username || secret != password;
        return rejected ? null : username;
    }

    /// <summary>scope is "repository:NAME:ACTIONS"; anonymous users get pull on public/* only.</summary>
    private static IEnumerable<TokenAccess> Grant(string? user, string? scope)
    {
        if (scope?.Split(':') is not ["repository", var name, var actions])
        {
            return [];
        }

        var requested = actions.Split(',');
        var allowed = user is not null ? requested : name.StartsWith("public/", StringComparison.Ordinal) ? requested.Where(action => action == "pull").ToArray() : [];
        return [new TokenAccess(name, allowed)];
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
