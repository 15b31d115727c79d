namespace VmPs.Core.Ingress;

/// <summary>The user-facing errors of the ingress, each with its stable ErrorId.</summary>
internal static class IngressErrors
{
    public static VmPsException InvalidHostname(string hostname, string reason) => new(
        VmPsErrorIds.InvalidIngressHostname,
        VmPsErrorKind.InvalidArgument,
        $"'{hostname}' is not a host name the ingress can route: {reason}.",
        hostname)
    {
        RecommendedAction = "Give a DNS name of letters, digits and hyphens in dot-separated labels (such as web.example.test), without wildcards, ports or paths.",
    };

    public static VmPsException HostnameInUse(string hostname, string vmName) => new(
        VmPsErrorIds.IngressHostnameInUse,
        VmPsErrorKind.ResourceExists,
        $"The host name '{hostname}' already routes to VM '{vmName}'.",
        hostname)
    {
        RecommendedAction = "Remove that route first (Remove-VmIngress), or choose another host name.",
    };

    public static VmPsException NotFound(string hostname) => new(
        VmPsErrorIds.IngressNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No ingress route for the host name '{hostname}'.",
        hostname)
    {
        RecommendedAction = "Run Get-VmIngress to list the routes.",
    };

    public static VmPsException DefaultRoute(string hostname) => new(
        VmPsErrorIds.IngressRouteIsDefault,
        VmPsErrorKind.InvalidOperation,
        $"'{hostname}' is the default route of its VM under the ingress domain; it goes with the VM or the domain.",
        hostname)
    {
        RecommendedAction = "Clear the domain with Set-VmHost -IngressDomain '' to remove every default route.",
    };

    public static VmPsException CaddyMissing(string searchPath) => new(
        VmPsErrorIds.CaddyNotFound,
        VmPsErrorKind.ObjectNotFound,
        "The ingress needs the 'caddy' program, which is not on the search path.",
        searchPath)
    {
        RecommendedAction = "Install Debian's 'caddy' package (apt-get install caddy).",
    };

    public static VmPsException PortInUse(string detail) => new(
        VmPsErrorIds.IngressPortInUse,
        VmPsErrorKind.ResourceUnavailable,
        $"The ingress cannot listen: a port it needs is in use ({detail}). Nothing was changed.",
        detail)
    {
        RecommendedAction = "Stop the program listening on port 80 or 443 of the VMs' network namespace, then try again.",
    };

    public static VmPsException CaddyFailed(string detail, string logFile) => new(
        VmPsErrorIds.IngressCaddyFailed,
        VmPsErrorKind.ResourceUnavailable,
        $"Caddy refused the ingress configuration or did not start: {detail}. Nothing was changed.",
        logFile)
    {
        RecommendedAction = $"See Caddy's log in '{logFile}'.",
    };

    public static VmPsException AuthFailed(string detail, string logFile) => new(
        VmPsErrorIds.IngressAuthFailed,
        VmPsErrorKind.ResourceUnavailable,
        $"The ingress's token checker for private routes did not start: {detail}. Nothing was changed.",
        logFile)
    {
        RecommendedAction = $"See the checker's log in '{logFile}'.",
    };

    public static VmPsException AuthMissing(string path) => new(
        VmPsErrorIds.IngressAuthNotFound,
        VmPsErrorKind.NotInstalled,
        $"The ingress's token checker for private routes is not in the module folder: '{path}' is missing.",
        path)
    {
        RecommendedAction = "Install the module again (./build.ps1 Install), or rebuild it: the build puts the checker in bin/ingress-auth.",
    };

    public static VmPsException AspNetCoreMissing(string dotnetRoot) => new(
        VmPsErrorIds.AspNetCoreRuntimeNotFound,
        VmPsErrorKind.NotInstalled,
        $"The ingress's token checker for private routes needs the ASP.NET Core runtime, which is not installed beside the .NET runtime in '{dotnetRoot}'.",
        dotnetRoot)
    {
        RecommendedAction = "Install the ASP.NET Core runtime of the .NET version pwsh runs on (the aspnetcore-runtime package of that version), then try again.",
    };

    public static VmPsException InvalidAcmeDirectory(string directory) => new(
        VmPsErrorIds.InvalidAcmeDirectory,
        VmPsErrorKind.InvalidArgument,
        $"'{directory}' is not an ACME directory URL: give the https:// URL of the CA's directory.",
        directory)
    {
        RecommendedAction = "Use the directory URL your CA documents, such as https://acme-v02.api.letsencrypt.org/directory.",
    };

    public static VmPsException InvalidAcmeRoot(string path, string reason) => new(
        VmPsErrorIds.InvalidAcmeRootCertificate,
        VmPsErrorKind.InvalidArgument,
        $"'{path}' is not a PEM certificate the ingress can trust for its ACME CA: {reason}.",
        path)
    {
        RecommendedAction = "Give the PEM file of the root certificate that signed the ACME server's own HTTPS certificate, or leave -AcmeRootCertificate out for a public CA.",
    };

    public static VmPsException InvalidAcmeChallenges(AcmeChallenges challenges) => new(
        VmPsErrorIds.InvalidAcmeChallenges,
        VmPsErrorKind.InvalidArgument,
        $"'{challenges}' is not a set of ACME challenges the ingress answers: give {AcmeChallenges.Http01}, {AcmeChallenges.TlsAlpn01} or both.",
        challenges)
    {
        RecommendedAction = "Leave -AcmeChallenge out to answer both, or name the one your CA can reach (TlsAlpn01 where port 80 is closed).",
    };
}
