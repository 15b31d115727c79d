using System.Net;
using System.Text.Json.Nodes;

namespace VmPs.Core.Ingress;

/// <summary>A route as Caddy serves it: the stored (or default) route with its VM's state and address when read.</summary>
internal sealed record ResolvedRoute(VmIngress Route, string? IPAddress);

/// <summary>
/// Caddy's JSON configuration for the ingress, made whole from the routes each time (Caddy's /load swaps it
/// atomically, keeping the old one when the new one fails). Host names and VM names reach it only validated, and
/// every value is a JSON string, so nothing a user types can become configuration.
/// </summary>
internal static class CaddyConfig
{
    /// <summary>The Host header the admin API is called with: the only origin it accepts.</summary>
    public const string AdminOrigin = "vmps";

    public const int HttpPort = 80;

    public const int HttpsPort = 443;

    /// <summary>A request variable naming what a private route is doing (asking the checker, proxying to the VM), for its error routes.</summary>
    private const string StageVariable = "vmps_stage";
    private const string CheckerStage = "checker";
    private const string VmStage = "vm";

    /// <summary>Request headers the ingress sets for the VM from the checker's answer.</summary>
    private static readonly string[] IdentityHeaders = [IngressAuthHeaders.User, IngressAuthHeaders.Email];

    /// <summary>Only the admin API, on its unix socket: what a freshly started Caddy runs until its routes are loaded.</summary>
    public static JsonObject Bootstrap(IngressLayout layout) => new()
    {
        ["admin"] = new JsonObject
        {
            ["listen"] = "unix/" + layout.AdminSocket,
            ["origins"] = new JsonArray(AdminOrigin),
            ["config"] = new JsonObject { ["persist"] = false },
        },
        ["storage"] = new JsonObject { ["module"] = "file_system", ["root"] = layout.DataDirectory },
    };

    public static JsonObject Build(IngressLayout layout, IReadOnlyList<ResolvedRoute> routes, IngressAcmeSettings acme)
    {
        var config = Bootstrap(layout);
        var servers = new JsonObject();
        var plain = routes.Where(route => route.Route.Tls == IngressTls.Off).ToList();
        var secure = routes.Where(route => route.Route.Tls != IngressTls.Off).ToList();
        if (plain.Count > 0)
        {
            servers["http"] = Server(HttpPort, plain, layout, new JsonObject { ["disable"] = true });
        }

        if (secure.Count > 0)
        {
            servers["https"] = Server(HttpsPort, secure, layout, new JsonObject { ["disable_redirects"] = true });
            config["apps"] = new JsonObject { ["tls"] = TlsApp(secure, acme), ["pki"] = Pki() };
        }

        if (servers.Count > 0)
        {
            var apps = config["apps"] as JsonObject ?? new JsonObject();
            apps["http"] = new JsonObject { ["servers"] = servers };
            config["apps"] = apps;
        }

        return config;
    }

    private static JsonObject Server(int port, IReadOnlyList<ResolvedRoute> routes, IngressLayout layout, JsonObject automaticHttps)
    {
        var list = new JsonArray();
        foreach (var route in routes)
        {
            list.Add(Route(route, layout));
        }

        list.Add(new JsonObject { ["handle"] = new JsonArray(Page(HttpStatusCode.NotFound, "No VM is routed at this host name.")) });
        return new JsonObject
        {
            ["listen"] = new JsonArray($":{port}"),
            ["routes"] = list,
            ["errors"] = new JsonObject { ["routes"] = ErrorRoutes(routes) },
            ["automatic_https"] = automaticHttps,
        };
    }

    private static JsonObject Route(ResolvedRoute resolved, IngressLayout layout)
    {
        var route = resolved.Route;
        // Whatever a client sends as X-VmPs-*, the checker and the VM see only what the ingress sets.
        var handlers = new JsonArray(new JsonObject
        {
            ["handler"] = "headers",
            ["request"] = new JsonObject { ["delete"] = new JsonArray(IngressAuthHeaders.Prefix + "*") },
        });
        if (!route.Public)
        {
            // The stage tells the error routes whose failure it is: the checker's or the VM's.
            handlers.Add(Stage(CheckerStage));
            handlers.Add(ForwardAuth(route.VmName, layout));
            handlers.Add(Stage(VmStage));
        }

        // The VM sees who the user is, never the token.
        handlers.Add(new JsonObject { ["handler"] = "headers", ["request"] = new JsonObject { ["delete"] = new JsonArray("Authorization") } });
        // Proxied whatever the VM's state when this was made, so Start-Vm and Stop-Vm need no reconfiguration: a VM
        // that does not answer (stopped, or nothing on the port) gets the server's error page for its host (ErrorRoutes).
        handlers.Add(resolved.IPAddress is { } address
            ? new JsonObject
            {
                ["handler"] = "reverse_proxy",
                ["upstreams"] = new JsonArray(new JsonObject { ["dial"] = $"{address}:{route.Port}" }),
            }
            : Page(HttpStatusCode.ServiceUnavailable, $"VM '{route.VmName}' has no network, so the ingress cannot reach it."));
        return new JsonObject
        {
            ["match"] = new JsonArray(new JsonObject { ["host"] = new JsonArray(route.Hostname) }),
            ["handle"] = new JsonArray(new JsonObject { ["handler"] = "subroute", ["routes"] = new JsonArray(new JsonObject { ["handle"] = handlers }) }),
            ["terminal"] = true,
        };
    }

    /// <summary>
    /// Asks VmPs's token checker (VmPs.IngressAuth, <see cref="IngressAuthServer"/>) whether the request's token opens
    /// this VM: tokens are stored only as SHA-256 hashes, which Caddy cannot check a bearer token or basic auth against,
    /// so Caddy hands the Authorization header to the checker, with the VM's name in a header written here. A 2xx answer
    /// carries the user's name and e-mail, copied into the request to the VM; any other answer (401 with a challenge,
    /// 403) goes back to the client. A checker that does not answer gets a 503 page of its own, not the VM's (ErrorRoutes).
    /// </summary>
    private static JsonObject ForwardAuth(string vmName, IngressLayout layout)
    {
        var copied = new JsonObject();
        foreach (var header in IdentityHeaders)
        {
            copied[header] = new JsonArray($"{{http.reverse_proxy.header.{CanonicalHeaderName(header)}}}");
        }

        return new JsonObject
        {
            ["handler"] = "reverse_proxy",
            ["upstreams"] = new JsonArray(new JsonObject { ["dial"] = "unix/" + layout.AuthSocket }),
            ["rewrite"] = new JsonObject { ["method"] = "GET", ["uri"] = "/check" },
            ["headers"] = new JsonObject { ["request"] = new JsonObject { ["set"] = new JsonObject { [IngressAuthHeaders.Vm] = new JsonArray(vmName) } } },
            ["handle_response"] = new JsonArray(new JsonObject
            {
                ["match"] = new JsonObject { ["status_code"] = new JsonArray(2) },
                ["routes"] = new JsonArray(new JsonObject
                {
                    ["handle"] = new JsonArray(new JsonObject { ["handler"] = "headers", ["request"] = new JsonObject { ["set"] = copied } }),
                }),
            }),
        };
    }

    private static JsonObject Stage(string stage) => new() { ["handler"] = "vars", [StageVariable] = stage };

    /// <summary>Caddy names a response header's placeholder by Go's canonical form of the name (X-VmPs-User: X-Vmps-User).</summary>
    internal static string CanonicalHeaderName(string name) =>
        string.Join('-', name.Split('-').Select(part => part.Length == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..].ToLowerInvariant()));

    /// <summary>A failed proxy (502: nothing answered at the VM's address and port) becomes a 503 page naming the VM.</summary>
    private static JsonArray ErrorRoutes(IReadOnlyList<ResolvedRoute> routes)
    {
        var list = new JsonArray();
        foreach (var route in routes.Select(resolved => resolved.Route))
        {
            if (!route.Public)
            {
                list.Add(new JsonObject
                {
                    ["match"] = new JsonArray(new JsonObject
                    {
                        ["host"] = new JsonArray(route.Hostname),
                        ["vars"] = new JsonObject { [StageVariable] = new JsonArray(CheckerStage) },
                    }),
                    ["handle"] = new JsonArray(Page(
                        HttpStatusCode.ServiceUnavailable,
                        "The ingress's token checker does not answer, so private VMs cannot be reached; the next VmPs ingress command (Get-VmIngress) starts it again.")),
                    ["terminal"] = true,
                });
            }

            list.Add(new JsonObject
            {
                ["match"] = new JsonArray(new JsonObject
                {
                    ["host"] = new JsonArray(route.Hostname),
                    ["expression"] = "{http.error.status_code} == 502",
                }),
                ["handle"] = new JsonArray(Page(
                    HttpStatusCode.ServiceUnavailable,
                    $"VM '{route.VmName}' does not answer on port {route.Port}: it is not running (Start-Vm {route.VmName}), or nothing in it listens on that port.")),
                ["terminal"] = true,
            });
        }

        return list;
    }

    private static JsonObject Page(HttpStatusCode status, string message) => new()
    {
        ["handler"] = "static_response",
        ["status_code"] = (int)status,
        ["headers"] = new JsonObject { ["Content-Type"] = new JsonArray("text/html; charset=utf-8") },
        ["body"] = $"<!DOCTYPE html>\n<html><head><title>{(int)status} {status}</title></head><body><h1>{(int)status}</h1><p>{WebUtility.HtmlEncode(message)}</p></body></html>\n",
    };

    private static JsonObject TlsApp(IReadOnlyList<ResolvedRoute> routes, IngressAcmeSettings acme)
    {
        var policies = new JsonArray();
        AddPolicy(policies, routes, IngressTls.Internal, new JsonObject { ["module"] = "internal" });
        AddPolicy(policies, routes, IngressTls.Acme, AcmeIssuer(acme));
        return new JsonObject { ["automation"] = new JsonObject { ["policies"] = policies } };
    }

    private static void AddPolicy(JsonArray policies, IReadOnlyList<ResolvedRoute> routes, IngressTls tls, JsonObject issuer)
    {
        var hosts = routes.Where(route => route.Route.Tls == tls).Select(route => JsonValue.Create(route.Route.Hostname)).ToArray();
        if (hosts.Length > 0)
        {
            policies.Add(new JsonObject { ["subjects"] = new JsonArray(hosts), ["issuers"] = new JsonArray(issuer) });
        }
    }

    /// <summary>
    /// The ACME CA of Set-VmHost, with the challenges it allows of the two Caddy solves itself: HTTP-01 on port 80,
    /// TLS-ALPN-01 on 443 (DNS-01 needs a DNS provider module Debian's caddy does not have).
    /// </summary>
    private static JsonObject AcmeIssuer(IngressAcmeSettings acme)
    {
        var issuer = new JsonObject { ["module"] = "acme", ["ca"] = acme.Directory.AbsoluteUri };
        if (acme.Challenges != AcmeChallenges.All)
        {
            var disabled = new JsonObject { ["disabled"] = true };
            issuer["challenges"] = new JsonObject { [acme.Challenges.HasFlag(AcmeChallenges.Http01) ? "tls-alpn" : "http"] = disabled };
        }

        if (acme.Email is { } email)
        {
            issuer["email"] = email;
        }

        if (acme.TrustedRootFile is { } root)
        {
            issuer["trusted_roots_pem_files"] = new JsonArray(root);
        }

        return issuer;
    }

    /// <summary>Caddy's own CA never touches the host's trust store: clients trust it through Get-VmIngress's CA file.</summary>
    private static JsonObject Pki() => new()
    {
        ["certificate_authorities"] = new JsonObject { ["local"] = new JsonObject { ["install_trust"] = false } },
    };
}
