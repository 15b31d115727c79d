using System.Text.RegularExpressions;

namespace VmPs.Core.Ingress;

/// <summary>
/// Host names the ingress accepts: lower-case DNS names only, so a name can never carry a wildcard, a port, a path,
/// a quote or a placeholder brace into Caddy's configuration.
/// </summary>
public static partial class IngressHostnames
{
    private const int MaxLength = 253;

    /// <summary>The host name in lower case, or IngressHostnameInvalid saying what is wrong with it.</summary>
    public static string Normalize(string hostname)
    {
        ArgumentNullException.ThrowIfNull(hostname);
        var lower = hostname.ToLowerInvariant();
        if (lower.Contains('*', StringComparison.Ordinal))
        {
            throw IngressErrors.InvalidHostname(hostname, "wildcards are not routed");
        }

        if (lower.Length is 0 or > MaxLength)
        {
            throw IngressErrors.InvalidHostname(hostname, $"a host name has 1 to {MaxLength} characters");
        }

        if (!HostnamePattern().IsMatch(lower))
        {
            throw IngressErrors.InvalidHostname(hostname, "each dot-separated label is 1 to 63 letters, digits or inner hyphens, and there are at least two labels");
        }

        return lower;
    }

    /// <summary>The default route of a VM under the ingress domain, or null when the VM's name is no DNS label.</summary>
    public static string? DefaultFor(string vmName, string domain) =>
        LabelPattern().IsMatch(vmName.ToLowerInvariant()) ? $"{vmName.ToLowerInvariant()}.{domain}" : null;

    [GeneratedRegex("^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostnamePattern();

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex LabelPattern();
}
