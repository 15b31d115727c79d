using System.Runtime.InteropServices;
using VmPs.Core.Processes;

namespace VmPs.Core.Ingress;

/// <summary>
/// VmPs's token checker for private routes (the VmPs.IngressAuth program, in ingress-auth/ beside VmPs.Core.dll):
/// supervised as Caddy is, listening only on the ingress's 0600 auth socket, started with the dotnet host this
/// process runs on, which has the ASP.NET Core runtime it needs.
/// </summary>
internal sealed class IngressAuthServer
{
    public const string FileName = "VmPs.IngressAuth.dll";

    private const string Folder = "ingress-auth";

    private readonly IngressLayout layout;
    private readonly string stateDirectory;
    private readonly SupervisedServer server;

    public IngressAuthServer(IngressLayout layout, string stateDirectory)
    {
        this.layout = layout;
        this.stateDirectory = stateDirectory;
        server = new SupervisedServer(layout.Directory, layout.AuthPidFile, layout.AuthSocket);
    }

    /// <summary>Starts the checker when it does not run or does not answer.</summary>
    public async Task EnsureRunningAsync(CancellationToken cancellationToken)
    {
        using var client = new UnixSocketHttpClient(layout.AuthSocket, "vmps-auth");
        await server.EnsureRunningAsync(
            token => client.IsOkAsync("health", token),
            _ => Task.FromResult(Start()),
            detail => IngressErrors.AuthFailed(detail, layout.AuthLog),
            cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);

    private ProcessIdentity Start()
    {
        var program = Path.Combine(Path.GetDirectoryName(typeof(IngressAuthServer).Assembly.Location) ?? AppContext.BaseDirectory, Folder, FileName);
        if (!File.Exists(program))
        {
            throw IngressErrors.AuthMissing(program);
        }

        // The runtime directory is DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/; the host is DOTNET_ROOT/dotnet.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        if (!Directory.Exists(Path.Combine(root, "shared", "Microsoft.AspNetCore.App")))
        {
            throw IngressErrors.AspNetCoreMissing(root);
        }

        return DetachedProcess.Start(
            Path.Combine(root, "dotnet"),
            ["exec", program, "--state-directory", stateDirectory, "--socket", layout.AuthSocket],
            layout.AuthLog,
            layout.Directory,
            layout.AuthPidFile);
    }
}
