using Newtonsoft.Json.Converters;

namespace VmPs.Core.Storage;

/// <summary>Where new volumes are made (Set-VmHost -StorageBackend).</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum StorageBackend
{
    /// <summary>Sparse files under the state directory (the default).</summary>
    File,

    /// <summary>Thin volumes of an LVM thin pool (vmctl's design).</summary>
    LvmThin,
}

/// <summary>The host's storage backend and, for LvmThin, its volume group and thin pool.</summary>
public sealed record StorageSettings(StorageBackend Backend, string? VolumeGroup = null, string? ThinPool = null)
{
    public static StorageSettings Default { get; } = new(StorageBackend.File);

    public override string ToString() => Backend == StorageBackend.LvmThin ? $"LvmThin ({VolumeGroup}/{ThinPool})" : Backend.ToString();
}
