namespace VmPs.Core.Storage.LvmThin;

/// <summary>LVM's rules for volume group and logical volume names (lvm(8), VALID NAMES), checked before any tool runs.</summary>
internal static class LvmNames
{
    /// <summary>LVM keeps names in 128-byte buffers with their terminating NUL.</summary>
    public const int MaxLength = 127;

    private static readonly string[] ReservedLvSubstrings =
        ["_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig"];

    public static void ValidateVolumeGroup(string? name) => Validate("volume group", name, isLogicalVolume: false);

    public static void ValidateLogicalVolume(string? name) => Validate("logical volume", name, isLogicalVolume: true);

    private static void Validate(string what, string? name, bool isLogicalVolume)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw StorageErrors.InvalidLvmName(what, name ?? "", "it is empty");
        }

        if (name.Length > MaxLength)
        {
            throw StorageErrors.InvalidLvmName(what, name, $"it is longer than {MaxLength} characters");
        }

        if (name.FirstOrDefault(character => !IsAllowed(character)) is var bad && bad != default)
        {
            throw StorageErrors.InvalidLvmName(what, name, $"'{bad}' is not one of a-z A-Z 0-9 + _ . -");
        }

        if (name[0] == '-')
        {
            throw StorageErrors.InvalidLvmName(what, name, "it begins with a hyphen");
        }

        if (name is "." or "..")
        {
            throw StorageErrors.InvalidLvmName(what, name, "'.' and '..' are reserved");
        }

        if (isLogicalVolume && name is "snapshot" or "pvmove")
        {
            throw StorageErrors.InvalidLvmName(what, name, "'snapshot' and 'pvmove' are reserved");
        }

        if (isLogicalVolume && ReservedLvSubstrings.FirstOrDefault(reserved => name.Contains(reserved, StringComparison.Ordinal)) is { } internalName)
        {
            throw StorageErrors.InvalidLvmName(what, name, $"it contains '{internalName}', which LVM reserves for its internal volumes");
        }
    }

    private static bool IsAllowed(char character) => char.IsAsciiLetterOrDigit(character) || character is '+' or '_' or '.' or '-';
}
