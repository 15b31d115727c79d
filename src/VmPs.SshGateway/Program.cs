using VmPs.Core;
using VmPs.Core.SshGateway;

namespace VmPs.SshGateway;

/// <summary>
/// The gateway program's entry: "serve" (sshd in its namespace), "keys" (sshd's AuthorizedKeysCommand) and
/// "-c COMMAND" (sshd running a gateway account's login shell with the key's forced command). Anything else is refused.
/// </summary>
internal static class Program
{
    private const int BadUsage = 2;

    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["serve", "--sshd", var sshd, "--directory", var directory]:
                return SshdLauncher.Run(sshd, directory);
            case ["keys", "--home", var home, .. var options, var loginName, var fingerprint] when KeysOptions(options) is { } settings:
                return await KeysAsync(new VmPsSettings(home, settings.GetValueOrDefault("--netns"), settings.GetValueOrDefault("--firewall")), loginName, fingerprint).ConfigureAwait(false);
            case ["-c", var command] when SshGatewayKeys.ParseSessionCommand(command) is { } userId:
                return await GatewaySession.RunAsync(userId).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync("vmps-sshgw is run by the VmPs SSH gateway's sshd (Start-VmSshGateway), not by hand.").ConfigureAwait(false);
                return BadUsage;
        }
    }

    /// <summary>The installation's --netns and --firewall, each at most once, or null for anything else.</summary>
    private static Dictionary<string, string>? KeysOptions(string[] options)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Length; i += 2)
        {
            if (i + 1 >= options.Length || options[i] is not ("--netns" or "--firewall") || !settings.TryAdd(options[i], options[i + 1]))
            {
                return null;
            }
        }

        return settings;
    }

    /// <summary>Prints the authorized_keys line for the key, or nothing (sshd then refuses it).</summary>
    private static async Task<int> KeysAsync(VmPsSettings installation, string loginName, string fingerprint)
    {
        var services = new VmPsServices(installation);
        if (await SshGatewayKeys.AuthorizedKeyAsync(services.Users, services.Vms.GetAllAsync, loginName, fingerprint, CancellationToken.None).ConfigureAwait(false) is { } line)
        {
            await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
        }

        return 0;
    }
}
