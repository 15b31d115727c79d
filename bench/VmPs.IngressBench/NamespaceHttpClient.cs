using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using VmPs.Core.Network;

namespace VmPs.IngressBench;

/// <summary>
/// An HttpClient whose connections are sockets made inside a network namespace (a socket stays in the namespace it was
/// created in), keep-alive, at most <c>connections</c> per server.
/// </summary>
internal static class NamespaceHttpClient
{
    /// <param name="connectTo">Where every connection goes whatever the URL's host (the ingress's 127.0.0.1:443); null: the URL's.</param>
    /// <param name="trustedRoot">The only root an HTTPS server's certificate may chain to.</param>
    public static HttpClient Create(NetworkNamespace networkNamespace, int connections, IPEndPoint? connectTo, X509Certificate2? trustedRoot)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = await networkNamespace.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }, cancellationToken);
                try
                {
                    await socket.ConnectAsync(connectTo ?? (EndPoint)context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        if (trustedRoot is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { trustedRoot },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            };
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }
}
