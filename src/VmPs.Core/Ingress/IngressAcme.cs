using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using VmPs.Core.Access;

namespace VmPs.Core.Ingress;

/// <summary>Checks Set-VmHost's ACME settings before anything is stored.</summary>
public static class IngressAcme
{
    /// <summary>A root certificate file larger than this is not one certificate chain.</summary>
    private const long MaxRootFileBytes = 1 << 20;

    /// <summary>The settings, validated: an https directory URL, a plain e-mail address, a readable PEM certificate, at least one known challenge.</summary>
    public static IngressAcmeSettings Create(string directory, string? email, string? trustedRootFile, AcmeChallenges challenges = AcmeChallenges.All)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!IsChallengeSet(challenges))
        {
            throw IngressErrors.InvalidAcmeChallenges(challenges);
        }

        if (!Uri.TryCreate(directory, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            throw IngressErrors.InvalidAcmeDirectory(directory);
        }

        if (!string.IsNullOrEmpty(email))
        {
            UserValidation.ValidateEmail(email);
        }

        return new IngressAcmeSettings(uri, string.IsNullOrEmpty(email) ? null : email, string.IsNullOrEmpty(trustedRootFile) ? null : CheckRoot(trustedRootFile), challenges);
    }

    /// <summary>At least one challenge, and none that VmPs does not know.</summary>
    public static bool IsChallengeSet(AcmeChallenges challenges) => challenges != 0 && (challenges & ~AcmeChallenges.All) == 0;

    private static string CheckRoot(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            if (new FileInfo(full).Length > MaxRootFileBytes)
            {
                throw IngressErrors.InvalidAcmeRoot(full, $"it is larger than {MaxRootFileBytes} bytes");
            }

            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPem(File.ReadAllText(full));
            if (certificates.Count == 0)
            {
                throw IngressErrors.InvalidAcmeRoot(full, "it holds no PEM certificate");
            }

            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw IngressErrors.InvalidAcmeRoot(full, ex.Message);
        }

        return full;
    }
}
