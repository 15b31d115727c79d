namespace VmPs.Core.Images.Registry;

/// <summary>A user name and password (or token) for a registry.</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    /// <summary>Keeps the password out of logs and error messages.</summary>
    public override string ToString() => $"RegistryCredentials {{ Username = {Username} }}";
}
