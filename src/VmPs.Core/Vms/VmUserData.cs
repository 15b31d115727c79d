using System.Text.Json;
using VmPs.Core.Access;
using VmPs.Core.Images;
using VmPs.Core.State;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>
/// New-Vm -UserData and -SshPublicKey as given, kept in the VM's directory. Every VM's metadata service serves them
/// (/latest/user-data, /latest/meta-data/public-keys/N/openssh-key), as EC2 does for any instance; a disk image VM's
/// cloud-init seed also gets them, merged with VmPs's own part (<see cref="CloudInitUserData"/>).
/// </summary>
internal sealed record VmUserData(string? UserData, IReadOnlyList<string> SshPublicKeys)
{
    public static readonly VmUserData None = new(null, []);

    /// <summary>
    /// What New-Vm was given, checked: every key parses and the user data is at most 16 KiB; a disk image VM's user data
    /// must also be one cloud-init runs (UserDataInvalid), while EC2 serves any other VM's data as it is.
    /// </summary>
    public static VmUserData Check(VmCreateOptions options, ImageKind kind)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = options.SshPublicKeys.Select(key => SshPublicKey.Parse(key).AuthorizedKeysLine).ToList();
        if (kind == ImageKind.Disk)
        {
            CloudInitUserData.Compose(options.UserData, keys, options.Name);
        }
        else if (options.UserData is { } userData)
        {
            CloudInitUserData.EnsureSize(userData, options.Name);
        }

        return new VmUserData(options.UserData, keys);
    }

    /// <summary>The VM's user data; <see cref="None"/> for a VM made without any.</summary>
    public static async Task<VmUserData> ReadAsync(VmFiles files, CancellationToken cancellationToken)
    {
        if (!File.Exists(files.UserData))
        {
            return None;
        }

        await using var stream = File.OpenRead(files.UserData);
        return await JsonSerializer.DeserializeAsync<VmUserData>(stream, cancellationToken: cancellationToken).ConfigureAwait(false) ?? None;
    }

    /// <summary>Writes it into the VM's directory (0600); nothing for a VM without user data or keys.</summary>
    public async Task WriteAsync(VmFiles files, CancellationToken cancellationToken)
    {
        if (UserData is null && SshPublicKeys.Count == 0)
        {
            return;
        }

        await PrivateFiles.WriteAllTextAsync(files.UserData, JsonSerializer.Serialize(this), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user data cloud-init reads from a disk image VM's seed.</summary>
    public string CloudInitDocument(string vmName) => CloudInitUserData.Compose(UserData, SshPublicKeys, vmName);
}
