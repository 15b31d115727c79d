using System.Text.Json;
using System.Text.Json.Serialization;
using VmPs.Core.Hypervisors;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Vms;

/// <summary>One file of a saved state as the manifest records it (<paramref name="Digest"/>: see SparseFileDigest).</summary>
internal sealed record SavedStateFile(string Name, long SizeBytes, string Digest);

/// <summary>
/// manifest.json of a saved state: which driver wrote it, the launch settings (devices, memory, disks) it must be
/// restored with, and the size and digest of every state file.
/// </summary>
internal sealed record SavedStateManifest(int Version, HypervisorKind Hypervisor, DateTimeOffset SavedAt, string LaunchSpec, IReadOnlyList<SavedStateFile> Files);

/// <summary>
/// Seals a saved state with a manifest and checks it before use: a state file that is missing, truncated, changed
/// or added, a manifest of another driver, or launch settings that differ from the VM's now, are refused before any
/// hypervisor loads them.
/// </summary>
internal static class VmSavedState
{
    public const string ManifestName = "manifest.json";

    // 2: digests that skip zero pages (SparseFileDigest), so that a RAM file as long as the guest's memory is cheap to check.
    private const int FormatVersion = 2;

    // A manifest lists a handful of files; anything far larger is not one of ours.
    private const long MaxManifestBytes = 1 << 20;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The launch settings as the manifest keeps them.</summary>
    public static string Describe(VmLaunchSpec spec) => JsonSerializer.Serialize(spec, Json);

    /// <summary>The launch settings the state was saved with.</summary>
    public static VmLaunchSpec LaunchSpecOf(SavedStateManifest manifest) => ParseLaunchSpec(manifest.LaunchSpec);

    /// <summary>
    /// Launch settings as <see cref="Describe"/> wrote them, this VmPs or an older one. Those without BootMemoryMiB were
    /// written before QEMU q35 plugged vCPUs and memory as devices: that QEMU built every vCPU and all the memory into
    /// the machine, and their MaxCpus and MaxMemoryMiB served Cloud Hypervisor alone (which restores its topology from
    /// its own snapshot). They read without them, which builds that machine again, as a state saved from it needs.
    /// </summary>
    public static VmLaunchSpec ParseLaunchSpec(string json)
    {
        using var document = JsonDocument.Parse(json);
        var spec = document.Deserialize<VmLaunchSpec>(Json) ?? throw new JsonException("The launch settings are empty.");
        return document.RootElement.TryGetProperty(nameof(VmLaunchSpec.BootMemoryMiB), out _) ? spec : spec with { MaxCpus = null, MaxMemoryMiB = null };
    }

    /// <summary>
    /// <paramref name="spec"/> on the machine the state was saved from (<paramref name="saved"/>): the room for vCPUs and
    /// memory it had and the memory it booted with (memory plugged since comes back with the saved device state),
    /// whatever this host offers now.
    /// </summary>
    public static VmLaunchSpec OnSavedMachine(VmLaunchSpec spec, VmLaunchSpec saved) =>
        spec with { MaxCpus = saved.MaxCpus, BootMemoryMiB = saved.BootMemoryMiB, MaxMemoryMiB = saved.MaxMemoryMiB };

    /// <summary>
    /// What a saved state depends on: the launch settings without what a VM's forks have of their own (name,
    /// directory, logs, TAP, MAC, vsock CID; the agent gives the guest its identity after the restore). Disks inside
    /// the VM directory are named relative to it; shared ones (the image's root filesystem) by their path. The room
    /// for more vCPUs and memory is not compared: a restore builds the machine with the saved one (<see cref="OnSavedMachine"/>).
    /// </summary>
    public static string Hardware(VmLaunchSpec spec) => JsonSerializer.Serialize(
        new
        {
            spec.KernelPath,
            spec.VmlinuxPath,
            spec.InitrdPath,
            spec.KernelArguments,
            spec.Cpus,
            spec.MemoryMiB,
            Disks = spec.Disks.Select((disk, index) => SavedDisk(spec, disk, index)).ToList(),
            NetworkMtus = spec.NetworkInterfaces.Select(adapter => adapter.Mtu).ToList(),
            HasAppLog = spec.AppLogPath is not null,
        },
        Json);

    /// <summary>Hashes every file the driver wrote into <paramref name="directory"/> and writes the manifest beside them, durably.</summary>
    public static async Task SealAsync(string directory, HypervisorKind hypervisor, string launchSpec, CancellationToken cancellationToken)
    {
        var files = new List<SavedStateFile>();
        foreach (var path in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            files.Add(await HashAsync(path, cancellationToken).ConfigureAwait(false)
                ?? throw new VmPsException(VmPsErrorIds.SavedStateInvalid, VmPsErrorKind.InvalidData, $"'{path}' in a saved state is not a regular file.", path));
        }

        var manifest = new SavedStateManifest(FormatVersion, hypervisor, DateTimeOffset.UtcNow, launchSpec, files);
        await using var output = PrivateFiles.Open(Path.Combine(directory, ManifestName), FileMode.CreateNew, FileAccess.Write);
        await JsonSerializer.SerializeAsync(output, manifest, Json, cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        output.Flush(flushToDisk: true);
    }

    /// <summary>
    /// The manifest of the state in <paramref name="directory"/> when it was saved by <paramref name="hypervisor"/> with
    /// the hardware of <paramref name="spec"/> and its files are all there with their sizes; else SavedStateInvalid.
    /// Their content is not read: see <see cref="VerifyFilesAsync"/>.
    /// </summary>
    public static async Task<SavedStateManifest> CheckAsync(string vmName, string directory, HypervisorKind hypervisor, VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        var manifest = await ReadManifestAsync(vmName, directory, cancellationToken).ConfigureAwait(false);
        if (manifest.Hypervisor != hypervisor)
        {
            throw Invalid(vmName, $"it was saved by {manifest.Hypervisor}, and the VM runs on {hypervisor}");
        }

        if (!SameHardware(manifest, spec))
        {
            throw Invalid(vmName, "the VM's hardware, disks or boot files changed since it was saved");
        }

        return StructuralDamage(directory, manifest) is { } damage ? throw Invalid(vmName, damage) : manifest;
    }

    /// <summary>Completes when the state's files are whole and unchanged against <paramref name="manifest"/>; else fails with SavedStateInvalid.</summary>
    public static async Task VerifyFilesAsync(string vmName, string directory, SavedStateManifest manifest, CancellationToken cancellationToken)
    {
        if (await DamageAsync(directory, manifest, cancellationToken).ConfigureAwait(false) is { } damage)
        {
            throw Invalid(vmName, damage);
        }
    }

    /// <summary>
    /// What is wrong with the files of the state in <paramref name="directory"/> against its manifest (a file missing,
    /// added, truncated, changed, or not a regular file), or null when they are whole and unchanged.
    /// </summary>
    private static async Task<string?> DamageAsync(string directory, SavedStateManifest manifest, CancellationToken cancellationToken)
    {
        if (StructuralDamage(directory, manifest) is { } damage)
        {
            return damage;
        }

        foreach (var file in manifest.Files)
        {
            var actual = await HashAsync(Path.Combine(directory, file.Name), cancellationToken).ConfigureAwait(false);
            if (actual is null || actual.SizeBytes != file.SizeBytes)
            {
                return $"its file '{file.Name}' was replaced while it was checked";
            }

            if (actual.Digest != file.Digest)
            {
                return $"its file '{file.Name}' does not match its SHA-256 digest (changed since it was saved)";
            }
        }

        return null;
    }

    /// <summary>
    /// What <see cref="DamageAsync"/> finds without reading a file (one missing, added, truncated or grown, or not a
    /// regular file), or null.
    /// </summary>
    public static string? StructuralDamage(string directory, SavedStateManifest manifest)
    {
        var expected = manifest.Files.ToDictionary(file => file.Name, StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            var name = Path.GetFileName(path);
            if (name != ManifestName && !expected.ContainsKey(name))
            {
                return $"'{name}' is not part of it";
            }
        }

        foreach (var file in manifest.Files)
        {
            var status = file.Name == Path.GetFileName(file.Name) ? UnixFileSystem.TryGetStatus(Path.Combine(directory, file.Name)) : null;
            if (status is null)
            {
                return $"its file '{file.Name}' is missing";
            }

            if (status.Value.Kind != FileKind.File)
            {
                return $"its file '{file.Name}' is not a regular file";
            }

            if (status.Value.Size != file.SizeBytes)
            {
                return $"its file '{file.Name}' has {status.Value.Size} bytes, not the {file.SizeBytes} saved (truncated or overwritten)";
            }
        }

        return null;
    }

    /// <summary>
    /// A disk as a saved state depends on it. The VM's own disk counts as one whatever its file and container: a
    /// checkpoint moves it onto a new qcow2 file over the frozen one, and the guest sees the same disk.
    /// </summary>
    private static DiskSpec SavedDisk(VmLaunchSpec spec, DiskSpec disk, int index) =>
        index == VmBoot.OverlayDiskIndex
            ? disk with { Path = VmFiles.OverlayDiskName(DiskImageFormat.Raw), Format = DiskImageFormat.Raw }
            : disk with { Path = Path.GetRelativePath(spec.VmDirectory, disk.Path) };

    private static bool SameHardware(SavedStateManifest manifest, VmLaunchSpec spec)
    {
        try
        {
            return Hardware(LaunchSpecOf(manifest)) == Hardware(spec);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static VmPsException Invalid(string vmName, string reason) => new(
        VmPsErrorIds.SavedStateInvalid,
        VmPsErrorKind.InvalidData,
        $"The saved state of VM '{vmName}' cannot be restored: {reason}. It was not used.",
        vmName)
    {
        RecommendedAction = $"Start-Vm {vmName} -Force discards the saved state and boots the VM afresh (what was in its memory is lost; its disk is kept).",
    };

    /// <summary>The manifest of the state in <paramref name="directory"/>, its files not checked; SavedStateInvalid when unreadable.</summary>
    public static async Task<SavedStateManifest> ReadManifestAsync(string vmName, string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, ManifestName);
        if (!File.Exists(path))
        {
            throw Invalid(vmName, "it has no manifest");
        }

        if (new FileInfo(path).Length > MaxManifestBytes)
        {
            throw Invalid(vmName, "its manifest is too large");
        }

        try
        {
            await using var input = File.OpenRead(path);
            var manifest = await JsonSerializer.DeserializeAsync<SavedStateManifest>(input, Json, cancellationToken).ConfigureAwait(false);
            return manifest is { Version: FormatVersion, Files: not null, LaunchSpec: not null }
                ? manifest
                : throw Invalid(vmName, "its manifest is of an unknown format");
        }
        catch (JsonException error)
        {
            throw Invalid(vmName, $"its manifest is not valid JSON ({error.Message})");
        }
    }

    /// <summary>Size and digest of a regular file; null for a link or anything else, since VmPs writes none.</summary>
    private static async Task<SavedStateFile?> HashAsync(string path, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || !info.Exists)
        {
            return null;
        }

        using var input = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var digest = await SparseFileDigest.ComputeAsync(input, cancellationToken).ConfigureAwait(false);
        return new SavedStateFile(Path.GetFileName(path), RandomAccess.GetLength(input), digest);
    }
}
