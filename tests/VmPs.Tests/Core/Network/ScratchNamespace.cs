using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using VmPs.Core.Network;
using VmPs.Core.Processes;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// A network namespace of the test's own (`ip netns add vmpst-&lt;random&gt;`, loopback up), deleted
/// with everything in it on dispose. Tests never touch the host's own interfaces.
/// </summary>
public sealed class ScratchNamespace : IDisposable
{
    private readonly Lazy<NetworkNamespace> joined;

    private ScratchNamespace(string name)
    {
        Name = name;
        joined = new Lazy<NetworkNamespace>(() => NetworkNamespace.Named(name));
    }

    public string Name { get; }

    /// <summary>The namespace as VmPs code joins it (one thread, opened on first use).</summary>
    public NetworkNamespace Namespace => joined.Value;

    public static async Task<ScratchNamespace> CreateAsync()
    {
        var name = "vmpst-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        await ExternalTool.RunCheckedAsync("ip", ["netns", "add", name], CancellationToken.None);
        var scratch = new ScratchNamespace(name);
        await scratch.IpAsync("link", "set", "lo", "up");
        return scratch;
    }

    /// <summary>Runs `ip -n NAME ARGS` and returns its stdout.</summary>
    public async Task<string> IpAsync(params string[] arguments) =>
        (await ExternalTool.RunCheckedAsync("ip", ["-n", Name, .. arguments], CancellationToken.None)).StandardOutput;

    /// <summary>Runs a program inside the namespace (`ip netns exec`).</summary>
    public Task<ToolResult> ExecAsync(params string[] command) =>
        ExternalTool.RunAsync("ip", ["netns", "exec", Name, .. command], CancellationToken.None);

    public async Task<string> ExecCheckedAsync(params string[] command) =>
        (await ExternalTool.RunCheckedAsync("ip", ["netns", "exec", Name, .. command], CancellationToken.None)).StandardOutput;

    /// <summary>Interface names as `ip -j link` lists them, sorted.</summary>
    public async Task<List<string>> LinkNamesAsync()
    {
        using var links = JsonDocument.Parse(await IpAsync("-j", "link"));
        return links.RootElement.EnumerateArray().Select(link => link.GetProperty("ifname").GetString()!).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>`ip -j -d link show NAME`, or null when there is no such interface.</summary>
    public async Task<JsonElement?> LinkAsync(string name)
    {
        var result = await ExternalTool.RunAsync("ip", ["-n", Name, "-j", "-d", "link", "show", name], CancellationToken.None);
        if (result.ExitCode != 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(result.StandardOutput);
        return document.RootElement[0].Clone();
    }

    /// <summary>
    /// The interface's IPv6 link-local address once duplicate address detection has let it be used,
    /// with the interface's index (in this namespace) as its scope id.
    /// </summary>
    public async Task<IPAddress> LinkLocalAddressAsync(string device)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var document = JsonDocument.Parse(await IpAsync("-j", "-6", "addr", "show", "dev", device, "scope", "link"));
            var link = document.RootElement.EnumerateArray().FirstOrDefault();
            var usable = link.ValueKind == JsonValueKind.Object && link.TryGetProperty("addr_info", out var addresses)
                ? addresses.EnumerateArray().FirstOrDefault(address => address.TryGetProperty("local", out _) && !address.TryGetProperty("tentative", out _))
                : default;
            if (usable.ValueKind == JsonValueKind.Object)
            {
                return new IPAddress(IPAddress.Parse(usable.GetProperty("local").GetString()!).GetAddressBytes(), link.GetProperty("ifindex").GetInt64());
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{device} in {Name} got no usable IPv6 link-local address within a minute.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sets a sysctl of this namespace (net.* keys are per namespace).</summary>
    public Task SysctlAsync(string key, string value) => ExecCheckedAsync("sysctl", "-qw", $"{key}={value}");

    /// <summary>The namespace's whole ruleset as `nft -j list ruleset` prints it.</summary>
    public Task<string> RulesetAsync() => ExecCheckedAsync("nft", "-j", "list", "ruleset");

    /// <summary>The namespace's iptables rules as `iptables-save` prints them.</summary>
    public Task<string> IptablesSaveAsync() => ExecCheckedAsync("iptables-save");

    public void Dispose()
    {
        if (joined.IsValueCreated)
        {
            joined.Value.Dispose();
        }

        ExternalTool.RunAsync("ip", ["netns", "del", Name], CancellationToken.None).GetAwaiter().GetResult();
    }
}
