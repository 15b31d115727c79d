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
            case ["keys", "--home", var home, var loginName, var fingerprint]:
                return await KeysAsync(home, loginName, fingerprint).ConfigureAwait(false);
            case ["-c", var command] when SshGatewayKeys.ParseSessionCommand(command) is { } userId:
                return await GatewaySession.RunAsync(userId).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync("vmps-sshgw is run by the VmPs SSH gateway's sshd (Start-VmSshGateway), not by hand.").ConfigureAwait(false);
                return BadUsage;
        }
    }

    /// <summary>Prints the authorized_keys line for the key, or nothing (sshd then refuses it).</summary>
    private static async Task<int> KeysAsync(string home, string loginName, string fingerprint)
    {
        var services = new VmPsServices(new VmPsSettings(home, null, null));
        if (await SshGatewayKeys.AuthorizedKeyAsync(services.Users, loginName, fingerprint, CancellationToken.None).ConfigureAwait(false) is { } line)
        {
            await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
        }

        return 0;
    }
}
