using System.Text;
using VmPs.Core.Access;
using VmPs.Core.State;

namespace VmPs.Core.Ingress;

/// <summary>What the token checker answers Caddy about one request to a private route.</summary>
public enum IngressAuthOutcome
{
    /// <summary>A user who may reach the VM: the request goes on with the user's name and e-mail.</summary>
    Allowed,

    /// <summary>No token, a malformed one, or one of no user: 401 with a challenge.</summary>
    Unauthenticated,

    /// <summary>A valid token of a user who neither owns the VM nor was granted it: 403.</summary>
    Forbidden,
}

public sealed record IngressAuthResult(IngressAuthOutcome Outcome, VmUser? User);

/// <summary>
/// Decides whether a request's Authorization header opens a private route to a VM: a token of New-VmUserToken sent as
/// a bearer token, or as the password of basic auth whose user name is the token's user. The token is never kept,
/// logged or put in any result.
/// </summary>
public sealed class IngressAuthorizer
{
    /// <summary>Longer headers are refused unread: a basic header of the longest user name and token is far shorter.</summary>
    public const int MaxAuthorizationLength = 1024;

    private readonly IUserManager users;

    public IngressAuthorizer(IUserManager users) => this.users = users;

    /// <summary>The authorizer of the installation in <paramref name="stateDirectory"/>.</summary>
    public static IngressAuthorizer ForStateDirectory(string stateDirectory) =>
        new(new UserManager(new StateDatabase(new VmPsPaths(stateDirectory).StateDatabase)));

    public async Task<IngressAuthResult> CheckAsync(string? authorization, string vmName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vmName);
        if (ParseCredentials(authorization) is not { } credentials
            || await users.AuthenticateTokenAsync(credentials.Token, cancellationToken).ConfigureAwait(false) is not { } user
            || (credentials.UserName is { } userName && !string.Equals(userName, user.Name, StringComparison.OrdinalIgnoreCase)))
        {
            return new IngressAuthResult(IngressAuthOutcome.Unauthenticated, null);
        }

        return await users.CanAccessAsync(user, vmName, cancellationToken).ConfigureAwait(false)
            ? new IngressAuthResult(IngressAuthOutcome.Allowed, user)
            : new IngressAuthResult(IngressAuthOutcome.Forbidden, null);
    }

    /// <summary>The token and, for basic auth, the user name it came with; null when the header carries neither form.</summary>
    internal static (string? UserName, string Token)? ParseCredentials(string? authorization)
    {
        if (authorization is null || authorization.Length > MaxAuthorizationLength)
        {
            return null;
        }

        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
        {
            return null;
        }

        var scheme = authorization[..space];
        var value = authorization[(space + 1)..].Trim(' ');
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return value.Length > 0 ? (null, value) : null;
        }

        if (!scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var buffer = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, buffer, out var length))
        {
            return null;
        }

        string pair;
        try
        {
            pair = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var colon = pair.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < pair.Length - 1 ? (pair[..colon], pair[(colon + 1)..]) : null;
    }
}
