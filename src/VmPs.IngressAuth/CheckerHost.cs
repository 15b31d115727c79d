using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VmPs.Core.Ingress;

namespace VmPs.IngressAuth;

/// <summary>
/// Kestrel on the one unix socket Caddy's forward_auth dials: GET /check answers 200 with the user's name and e-mail,
/// 401 with a challenge or 403; GET /health tells the supervisor it is up. Nothing else listens.
/// </summary>
internal static class CheckerHost
{
    private const string Usage = "usage: VmPs.IngressAuth --state-directory DIR --socket PATH";

    public static async Task<int> RunAsync(string[] args)
    {
        if (CheckerArguments.Parse(args) is not { } arguments)
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        var authorizer = IngressAuthorizer.ForStateDirectory(arguments.StateDirectory);
        // Empty: no configuration from the environment or files, so nothing (ASPNETCORE_URLS, Kestrel__Endpoints) adds a listener.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ContentRootPath = arguments.StateDirectory });
        builder.Services.AddRoutingCore();
        // Warnings and errors only, none of which carries a request's headers: no token reaches the log.
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 100;
            kestrel.ListenUnixSocket(arguments.Socket);
        });

        await using var app = builder.Build();
        app.MapGet("/health", () => Results.Ok());
        app.MapGet("/check", (HttpContext context) => CheckEndpoint.AnswerAsync(context, authorizer));
        await app.StartAsync().ConfigureAwait(false);
        // The socket is in the 0700 ingress directory; IngressAuthServer makes it 0600 once the checker answers.
        Console.WriteLine($"VmPs ingress token checker listening on {arguments.Socket}");
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }
}
