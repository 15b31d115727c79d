namespace VmPs.Core.Ingress;

/// <summary>The headers between Caddy, the token checker and the VM. The ingress drops every X-VmPs-* header a client sends.</summary>
public static class IngressAuthHeaders
{
    /// <summary>Every header of the ingress starts with this.</summary>
    public const string Prefix = "X-VmPs-";

    /// <summary>Set by the route's configuration on the request to the checker: the VM the route leads to.</summary>
    public const string Vm = Prefix + "Vm";

    /// <summary>The checker's answer, copied into the request to the VM: the user's name.</summary>
    public const string User = Prefix + "User";

    /// <summary>The checker's answer, copied into the request to the VM: the user's e-mail address.</summary>
    public const string Email = Prefix + "Email";
}
