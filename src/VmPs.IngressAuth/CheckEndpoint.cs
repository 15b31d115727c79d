using Microsoft.AspNetCore.Http;
using VmPs.Core.Ingress;

namespace VmPs.IngressAuth;

/// <summary>GET /check: the answer Caddy's forward_auth turns into letting the request through or refusing it.</summary>
internal static class CheckEndpoint
{
    private const string Challenge = "Bearer realm=\"VmPs\", Basic realm=\"VmPs\", charset=\"UTF-8\"";

    public static async Task AnswerAsync(HttpContext context, IngressAuthorizer authorizer)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        // Written by the route's configuration, which drops any the client sent first; several values mean it is not.
        if (context.Request.Headers[IngressAuthHeaders.Vm] is not [{ Length: > 0 } vmName])
        {
            response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        var authorization = context.Request.Headers.Authorization is [var single] ? single : null;
        var result = await authorizer.CheckAsync(authorization, vmName, context.RequestAborted).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case IngressAuthOutcome.Allowed:
                response.StatusCode = StatusCodes.Status200OK;
                response.Headers[IngressAuthHeaders.User] = result.User!.Name;
                response.Headers[IngressAuthHeaders.Email] = result.User.Email;
                break;
            case IngressAuthOutcome.Forbidden:
                await Page(response, StatusCodes.Status403Forbidden, $"Your VmPs user may not reach VM '{vmName}': ask its owner for access (Grant-VmAccess).").ConfigureAwait(false);
                break;
            default:
                response.Headers.WWWAuthenticate = Challenge;
                await Page(response, StatusCodes.Status401Unauthorized, "This VM is private: send a VmPs token (New-VmUserToken) as a bearer token, or as the password of basic auth with your VmPs user name.").ConfigureAwait(false);
                break;
        }
    }

    private static Task Page(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(message + "\n");
    }
}
