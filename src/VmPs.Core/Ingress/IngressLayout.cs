namespace VmPs.Core.Ingress;

/// <summary>Where the ingress keeps its files: one 0700 directory of the state directory.</summary>
public sealed class IngressLayout
{
    public IngressLayout(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>Caddy's admin API (0600): the only way VmPs changes Caddy's routes.</summary>
    public string AdminSocket => Path.Combine(Directory, "caddy-admin.sock");

    /// <summary>The token checker Caddy asks about private routes.</summary>
    public string AuthSocket => Path.Combine(Directory, "auth.sock");

    public string BootstrapConfig => Path.Combine(Directory, "caddy-bootstrap.json");

    public string CaddyPidFile => Path.Combine(Directory, "caddy.pid");

    public string CaddyLog => Path.Combine(Directory, "caddy.log");

    public string AuthPidFile => Path.Combine(Directory, "auth.pid");

    public string AuthLog => Path.Combine(Directory, "auth.log");

    /// <summary>Serialises starting, repairing and reconfiguring Caddy between sessions.</summary>
    public string LockFile => Path.Combine(Directory, "ingress.lock");

    /// <summary>Caddy's storage: certificates, keys and its own CA.</summary>
    public string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>The root certificate of the ingress's own CA (routes with -Tls Internal), once Caddy made it.</summary>
    public string InternalRootCertificate => Path.Combine(DataDirectory, "pki", "authorities", "local", "root.crt");
}
