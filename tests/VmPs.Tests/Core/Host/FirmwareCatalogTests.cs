using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Host;

/// <summary>Firmware found where Debian's packages put it (or the setting names it), and each missing one named with its provider.</summary>
public sealed class FirmwareCatalogTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void Ovmf_is_found_only_as_a_matching_code_and_variables_pair_seabios_by_its_q35_rom()
    {
        var ovmf = Directory.CreateDirectory(scratch.Combine("OVMF")).FullName;
        var seaBios = Directory.CreateDirectory(scratch.Combine("seabios")).FullName;
        File.WriteAllText(Path.Combine(ovmf, "OVMF_CODE_4M.fd"), "code 4M");
        File.WriteAllText(Path.Combine(ovmf, "OVMF_CODE.fd"), "code 2M");
        File.WriteAllText(Path.Combine(ovmf, "OVMF_VARS.fd"), "vars 2M");
        File.WriteAllText(Path.Combine(seaBios, "bios-256k.bin"), "seabios");
        var chFirmware = scratch.Combine("CLOUDHV.fd");
        File.WriteAllText(chFirmware, "ch");

        var found = FirmwareCatalog.Find(new FirmwareSearch { OvmfDirectory = ovmf, SeaBiosDirectory = seaBios, CloudHypervisorFirmware = chFirmware });

        // The 4M code has no 4M variable store beside it, so the 2M pair is taken, never a mix of the two.
        var uefi = found.Single(firmware => firmware.Hypervisor == HypervisorKind.Qemu && firmware.Kind == ImageFirmware.Uefi);
        Assert.Equal((Path.Combine(ovmf, "OVMF_CODE.fd"), Path.Combine(ovmf, "OVMF_VARS.fd")), (uefi.CodePath, uefi.VariablesPath));
        Assert.Equal(Path.Combine(seaBios, "bios-256k.bin"), found.Single(firmware => firmware.Kind == ImageFirmware.Bios).CodePath);
        Assert.Equal(chFirmware, found.Single(firmware => firmware.Hypervisor == HypervisorKind.CloudHypervisor).CodePath);
        Assert.Empty(FirmwareCatalog.Problems(found));
    }

    [Fact]
    public void Missing_firmware_is_a_host_problem_naming_its_package_and_refuses_the_boot()
    {
        var empty = Directory.CreateDirectory(scratch.Combine("empty")).FullName;
        var found = FirmwareCatalog.Find(new FirmwareSearch { OvmfDirectory = empty, SeaBiosDirectory = empty, CloudHypervisorFirmware = null });
        var report = VmPs.Tests.Core.Vms.VmTestHost.QemuHost(null) with { Firmware = found };

        Assert.All(found, firmware => Assert.False(firmware.Installed));
        Assert.Contains(FirmwareCatalog.Problems(found), problem => problem.Contains("install ovmf", StringComparison.Ordinal));
        Assert.Contains(FirmwareCatalog.Problems(found), problem => problem.Contains("install seabios", StringComparison.Ordinal));
        var qemu = Assert.Throws<VmPsException>(() => FirmwareCatalog.Require(report, HypervisorKind.Qemu, ImageFirmware.Uefi, "web"));
        Assert.Equal(VmPsErrorIds.FirmwareNotFound, qemu.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, qemu.Kind);
        Assert.Equal("web", qemu.Target);
        Assert.Contains("ovmf", qemu.RecommendedAction, StringComparison.Ordinal);
        var cloudHypervisor = Assert.Throws<VmPsException>(() => FirmwareCatalog.Require(report, HypervisorKind.CloudHypervisor, ImageFirmware.Uefi, "web"));
        Assert.Contains(FirmwareSearch.CloudHypervisorFirmwareVariable, cloudHypervisor.RecommendedAction, StringComparison.Ordinal);
        var noBios = Assert.Throws<VmPsException>(() => FirmwareCatalog.Require(report, HypervisorKind.CloudHypervisor, ImageFirmware.Bios, "web"));
        Assert.Equal(VmPsErrorIds.FirmwareNotFound, noBios.ErrorId);
    }

    [RequiresOvmfFact]
    public async Task The_host_probe_reports_the_firmware_of_debians_packages()
    {
        var empty = Directory.CreateDirectory(scratch.Combine("bin")).FullName;
        var report = await HostProbe.ProbeAsync(
            new VmPsPaths(scratch.Combine("state")), new HostProbeOptions { SearchPath = empty, BootDirectory = empty }, CancellationToken.None);

        var uefi = report.Firmware.Single(firmware => firmware.Hypervisor == HypervisorKind.Qemu && firmware.Kind == ImageFirmware.Uefi);
        Assert.Equal(RequiresOvmfFactAttribute.OvmfCode, uefi.CodePath);
        Assert.Equal(RequiresOvmfFactAttribute.OvmfVariables, uefi.VariablesPath);
        Assert.DoesNotContain(report.Problems, problem => problem.Contains("install ovmf", StringComparison.Ordinal));
    }
}
