using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VmPs.Core.Access;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>
/// Command mode (ssh vmps@HOST COMMAND): the command line a client sent, parsed strictly as words (it never reaches
/// a shell), run through the same Core calls as the cmdlets, as the user whose key logged in, within its quota. A
/// user sees only the VMs it owns or that were shared with it; removing and sharing are for the owner.
/// </summary>
public sealed class SshGatewayCommands
{
    public const string Usage =
        """
        usage: ssh vmps@HOST COMMAND
          new [--image IMAGE] [--name NAME]   create a VM (busybox by default) and start it
          ls [--json]                         your VMs and those shared with you
          rm NAME                             remove your VM
          restart NAME                        stop and start a VM
          share NAME EMAIL                    let the user with that e-mail reach your VM
        ssh NAME@HOST [COMMAND]               a shell (or the command) in the VM NAME
        ssh -J vmps@HOST root@NAME            the VM's own sshd (its port 22)
        """;

    private const int Failed = 1;
    private const int BadUsage = 2;
    private const int MaxCommandLength = 1024;

    private readonly IVmPsServices services;
    private readonly VmUser user;
    private readonly TextWriter output;
    private readonly TextWriter error;

    public SshGatewayCommands(IVmPsServices services, VmUser user, TextWriter output, TextWriter error)
    {
        this.services = services;
        this.user = user;
        this.output = output;
        this.error = error;
    }

    /// <summary>Runs one command line; the exit code is 0, 1 (the command failed) or 2 (not a command).</summary>
    public async Task<int> RunAsync(string? commandLine, CancellationToken cancellationToken)
    {
        if (Words(commandLine) is not { Count: > 0 } words)
        {
            await error.WriteLineAsync(Usage).ConfigureAwait(false);
            return BadUsage;
        }

        try
        {
            var run = (words[0], words.Count) switch
            {
                ("new", _) => NewAsync(words, cancellationToken),
                ("ls", 1) => ListAsync(json: false, cancellationToken),
                ("ls", 2) when words[1] == "--json" => ListAsync(json: true, cancellationToken),
                ("rm", 2) => RemoveAsync(words[1], cancellationToken),
                ("restart", 2) => RestartAsync(words[1], cancellationToken),
                ("share", 3) => ShareAsync(words[1], words[2], cancellationToken),
                _ => UsageAsync(),
            };
            return await run.ConfigureAwait(false);
        }
        catch (VmPsException failure)
        {
            await error.WriteLineAsync($"vmps: {failure.Message}").ConfigureAwait(false);
            return Failed;
        }
    }

    /// <summary>The words of a command line: printable ASCII without quotes, escapes or shell characters, split on spaces.</summary>
    internal static List<string>? Words(string? commandLine)
    {
        if (commandLine is null || commandLine.Length > MaxCommandLength || commandLine.Any(c => c is < ' ' or > '~' or '"' or '\'' or '\\' or '`' or '$' or ';' or '|' or '&' or '<' or '>' or '*' or '?'))
        {
            return null;
        }

        return [.. commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    private async Task<int> NewAsync(List<string> words, CancellationToken cancellationToken)
    {
        string image = "busybox";
        string? name = null;
        for (var i = 1; i < words.Count; i += 2)
        {
            if (i + 1 >= words.Count)
            {
                return await UsageAsync().ConfigureAwait(false);
            }

            switch (words[i])
            {
                case "--image":
                    image = words[i + 1];
                    break;
                case "--name":
                    name = words[i + 1];
                    break;
                default:
                    return await UsageAsync().ConfigureAwait(false);
            }
        }

        name ??= "vm-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        // On the default network, so that ssh -J through the gateway reaches the VM's own sshd.
        await services.Vms.CreateAsync(new VmCreateOptions { Name = name, Image = image, Owner = user.Name, Network = new VmNetworkOptions() }, cancellationToken).ConfigureAwait(false);
        var vm = await services.Vms.StartAsync(name, new VmStartOptions(), null, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{vm.Name} {vm.State}").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> ListAsync(bool json, CancellationToken cancellationToken)
    {
        var vms = (await services.Vms.GetAllAsync(cancellationToken).ConfigureAwait(false)).Where(IsVisible).ToList();
        await output.WriteAsync(json ? Json(vms) : Table(vms)).ConfigureAwait(false);
        return 0;
    }

    private async Task<int> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await OwnedAsync(name, "remove", cancellationToken).ConfigureAwait(false);
        await services.Vms.RemoveAsync(vm.Name, force: true, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{vm.Name} removed").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> RestartAsync(string name, CancellationToken cancellationToken)
    {
        var vm = await VisibleAsync(name, cancellationToken).ConfigureAwait(false);
        if (vm.State.IsActive())
        {
            await services.Vms.StopAsync(vm.Name, new VmStopOptions(), cancellationToken).ConfigureAwait(false);
        }

        vm = await services.Vms.StartAsync(vm.Name, new VmStartOptions(), null, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{vm.Name} {vm.State}").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> ShareAsync(string name, string email, CancellationToken cancellationToken)
    {
        var vm = await OwnedAsync(name, "share", cancellationToken).ConfigureAwait(false);
        var other = (await services.Users.GetAllAsync(cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(candidate => string.Equals(candidate.Email, email, StringComparison.OrdinalIgnoreCase))
            ?? throw UserErrors.NotFound(email);
        await services.Users.GrantAccessAsync(vm.Name, other.Name, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{vm.Name} shared with {other.Email}").ConfigureAwait(false);
        return 0;
    }

    private async Task<int> UsageAsync()
    {
        await error.WriteLineAsync(Usage).ConfigureAwait(false);
        return BadUsage;
    }

    private bool IsVisible(VmInfo vm) => SshGatewayTargets.MayReach(user, vm);

    private bool IsOwner(VmInfo vm) => string.Equals(vm.Owner, user.Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>A VM the user may see; any other is reported as missing, so names of others' VMs are not revealed.</summary>
    private async Task<VmInfo> VisibleAsync(string name, CancellationToken cancellationToken) =>
        await services.Vms.FindAsync(name, cancellationToken).ConfigureAwait(false) is { } vm && IsVisible(vm) ? vm : throw VmErrors.NotFound(name);

    private async Task<VmInfo> OwnedAsync(string name, string action, CancellationToken cancellationToken)
    {
        var vm = await VisibleAsync(name, cancellationToken).ConfigureAwait(false);
        return IsOwner(vm)
            ? vm
            : throw SshGatewayErrors.NotOwner(vm.Name, vm.Owner, action);
    }

    private static string Table(List<VmInfo> vms)
    {
        var rows = vms.Select(vm => new[] { vm.Name, vm.State.ToString(), vm.Image, vm.IPAddress ?? "-", vm.Owner ?? "-" }).Prepend(["NAME", "STATE", "IMAGE", "IP", "OWNER"]).ToList();
        var widths = Enumerable.Range(0, 5).Select(column => rows.Max(row => row[column].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, column) => column == 4 ? cell : cell.PadRight(widths[column]))));
        }

        return text.ToString();
    }

    private static string Json(List<VmInfo> vms)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var vm in vms)
            {
                writer.WriteStartObject();
                writer.WriteString("name", vm.Name);
                writer.WriteString("state", vm.State.ToString());
                writer.WriteString("image", vm.Image);
                writer.WriteNumber("cpus", vm.Cpus);
                writer.WriteNumber("memoryMiB", vm.MemoryMiB);
                writer.WriteString("ipAddress", vm.IPAddress);
                writer.WriteString("owner", vm.Owner);
                writer.WriteString("createdAt", vm.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
