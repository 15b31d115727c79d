using System.Reflection;

namespace VmPs.Protocol;

/// <summary>Versions both ends announce in the handshake.</summary>
public static class ProtocolInfo
{
    /// <summary>The wire protocol version; a peer speaking another version is refused with a clear error.</summary>
    public const int Version = 2;

    /// <summary>The VmPs release this assembly belongs to (host and guest are built from one version).</summary>
    public static string ProductVersion { get; } =
        typeof(ProtocolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}
