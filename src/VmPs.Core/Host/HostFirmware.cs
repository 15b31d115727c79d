using VmPs.Core.Hypervisors;
using VmPs.Core.Images;

namespace VmPs.Core.Host;

/// <summary>
/// Firmware a hypervisor boots disk images through (Get-VmHost's Firmware).
/// </summary>
/// <param name="Hypervisor">The hypervisor that loads it.</param>
/// <param name="Kind">UEFI or a legacy BIOS.</param>
/// <param name="CodePath">The firmware image; null: not found.</param>
/// <param name="VariablesPath">UEFI variable store template that each VM gets a private copy of; null: none (BIOS, or firmware that keeps no variables).</param>
/// <param name="Remedy">What provides it when missing: the Debian package to install or the setting to make.</param>
public sealed record HostFirmware(HypervisorKind Hypervisor, ImageFirmware Kind, string? CodePath, string? VariablesPath, string Remedy)
{
    public bool Installed => CodePath is not null;
}

/// <summary>Where the host probe looks for firmware; the defaults are where Debian's packages install it.</summary>
public sealed record FirmwareSearch
{
    /// <summary>The environment variable naming Cloud Hypervisor's firmware file (CLOUDHV.fd or rust-hypervisor-firmware).</summary>
    public const string CloudHypervisorFirmwareVariable = "VMPS_CH_FIRMWARE";

    /// <summary>Debian's ovmf package.</summary>
    public string OvmfDirectory { get; init; } = "/usr/share/OVMF";

    /// <summary>Debian's seabios package (a dependency of qemu-system-x86).</summary>
    public string SeaBiosDirectory { get; init; } = "/usr/share/seabios";

    /// <summary>Cloud Hypervisor's UEFI payload; no Debian package ships one, so the host configures it. Null: none.</summary>
    public string? CloudHypervisorFirmware { get; init; } = Environment.GetEnvironmentVariable(CloudHypervisorFirmwareVariable) is { Length: > 0 } path ? path : null;
}

/// <summary>Finds the firmware of each hypervisor, and refuses a boot whose firmware is missing.</summary>
public static class FirmwareCatalog
{
    /// <summary>
    /// OVMF's code and variable store must come from one build: the 4 MiB pair first (Debian 12's default), then the
    /// older 2 MiB pair. The secure-boot and Microsoft-key variants are left out: their key stores refuse unsigned loaders.
    /// </summary>
    private static readonly (string Code, string Variables)[] OvmfPairs =
    [
        ("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"),
        ("OVMF_CODE.fd", "OVMF_VARS.fd"),
    ];

    /// <summary>SeaBIOS with the 256 KiB layout QEMU's q35 machine loads by default.</summary>
    private const string SeaBiosFile = "bios-256k.bin";

    public static IReadOnlyList<HostFirmware> Find(FirmwareSearch search)
    {
        var ovmf = OvmfPairs
            .Select(pair => (Code: Path.Combine(search.OvmfDirectory, pair.Code), Variables: Path.Combine(search.OvmfDirectory, pair.Variables)))
            .FirstOrDefault(pair => File.Exists(pair.Code) && File.Exists(pair.Variables));
        var seaBios = Path.Combine(search.SeaBiosDirectory, SeaBiosFile);
        var cloudHypervisor = search.CloudHypervisorFirmware is { } path && File.Exists(path) ? path : null;
        return
        [
            new(HypervisorKind.Qemu, ImageFirmware.Uefi, ovmf.Code, ovmf.Variables, "install ovmf"),
            new(HypervisorKind.Qemu, ImageFirmware.Bios, File.Exists(seaBios) ? seaBios : null, null, "install seabios"),
            new(HypervisorKind.CloudHypervisor, ImageFirmware.Uefi, cloudHypervisor, null, $"set ${FirmwareSearch.CloudHypervisorFirmwareVariable} to a CLOUDHV.fd or rust-hypervisor-firmware file"),
        ];
    }

    /// <summary>The firmware a disk-image VM boots through on <paramref name="hypervisor"/>; FirmwareNotFound when the host lacks it.</summary>
    public static HostFirmware Require(HostReport report, HypervisorKind hypervisor, ImageFirmware kind, string vmName)
    {
        var firmware = report.Firmware.FirstOrDefault(candidate => candidate.Hypervisor == hypervisor && candidate.Kind == kind);
        if (firmware is { Installed: true })
        {
            return firmware;
        }

        var what = kind == ImageFirmware.Uefi ? "UEFI" : "BIOS";
        throw new VmPsException(
            VmPsErrorIds.FirmwareNotFound,
            VmPsErrorKind.NotInstalled,
            $"VM '{vmName}' boots through {what} firmware, which {hypervisor} has none of on this host.",
            vmName)
        {
            RecommendedAction = firmware is null
                ? $"{hypervisor} cannot boot {what} disk images; choose another hypervisor or firmware."
                : $"{char.ToUpperInvariant(firmware.Remedy[0])}{firmware.Remedy[1..]}.",
        };
    }

    /// <summary>Get-VmHost's problems: QEMU firmware a disk image may need that is missing.</summary>
    internal static IEnumerable<string> Problems(IEnumerable<HostFirmware> firmware) =>
        firmware.Where(candidate => candidate.Hypervisor == HypervisorKind.Qemu && !candidate.Installed)
            .Select(candidate => $"QEMU has no {(candidate.Kind == ImageFirmware.Uefi ? "UEFI" : "BIOS")} firmware (boots disk images with -Firmware {candidate.Kind}): {candidate.Remedy}.");
}
