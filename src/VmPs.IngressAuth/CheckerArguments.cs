namespace VmPs.IngressAuth;

/// <summary>The checker's command line, as IngressAuthServer writes it.</summary>
internal sealed record CheckerArguments(string StateDirectory, string Socket)
{
    public static CheckerArguments? Parse(string[] args) =>
        args is ["--state-directory", { Length: > 0 } stateDirectory, "--socket", { Length: > 0 } socket]
            ? new CheckerArguments(stateDirectory, socket)
            : null;
}
