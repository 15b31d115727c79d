using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Shares;
using VmPs.Core.Specs;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Tests.Core.Specs;

public sealed class VmSpecPlannerTests
{
    private static readonly Guid VmId = Guid.NewGuid();

    private static readonly VmCreateOptions Web = new()
    {
        Name = "web",
        Image = "busybox",
        Hypervisor = HypervisorKind.Qemu,
        Network = new VmNetworkOptions
        {
            Network = "lab",
            IPAddress = "10.131.0.7",
            PublishedPorts = [new PortMappingOptions { HostPort = 8080, VmPort = 80 }],
        },
        Volumes = [new VolumeAttachOptions("data", "/srv/data")],
    };

    [Fact]
    public void A_missing_vm_is_created_as_the_spec_says()
    {
        var plan = VmSpecPlanner.Plan(Web, current: null);

        Assert.Equal("web", plan.VmName);
        Assert.Equal(Web, Assert.IsType<CreateVmChange>(Assert.Single(plan.Changes)).Spec);
        Assert.Empty(plan.Unchangeable);
    }

    [Fact]
    public void A_vm_that_matches_its_spec_needs_nothing()
    {
        var plan = VmSpecPlanner.Plan(Web with { Name = "WEB" }, Current(Web));

        Assert.Empty(plan.Changes);
        Assert.Empty(plan.Unchangeable);
    }

    [Fact]
    public void Resources_ports_and_volumes_are_changed_removals_first()
    {
        var desired = Web with
        {
            Cpus = 2,
            DiskSizeGiB = 6,
            Network = Web.Network! with { PublishedPorts = [new PortMappingOptions { HostPort = 8080, VmPort = 8000 }, new PortMappingOptions { HostPort = 53, VmPort = 53, Protocol = PortProtocol.Udp }] },
            Volumes = [new VolumeAttachOptions("data", "/srv/data", ReadOnly: true)],
        };

        var plan = VmSpecPlanner.Plan(desired, Current(Web));

        Assert.Equal(
            [
                "Grow the disk 4 -> 6 GiB",
                "Set CPUs 1 -> 2, memory 512 -> 512 MiB",
                "Unpublish port 8080:80",
                "Publish port 8080:8000",
                "Publish port 53:53/udp",
                "Dismount volume data:/srv/data",
                "Mount volume data:/srv/data:ro",
            ],
            plan.Changes.Select(change => change.Action));
        var resize = Assert.IsType<SetResourcesChange>(plan.Changes[1]);
        Assert.Equal(new VmSetOptions { Cpus = 2 }, resize.Options);
        Assert.All(plan.Changes.OfType<AddPortChange>(), change => Assert.Equal(VmId, change.VmId));
        Assert.Empty(plan.Unchangeable);
    }

    [Fact]
    public void What_only_New_Vm_sets_is_reported_not_planned()
    {
        var desired = Web with
        {
            Image = "alpine",
            DiskSizeGiB = 2,
            Hypervisor = HypervisorKind.CloudHypervisor,
            Network = Web.Network! with { IPAddress = "10.131.0.9", MaxBandwidthMbps = 10 },
        };

        var plan = VmSpecPlanner.Plan(desired, Current(Web));

        Assert.Empty(plan.Changes);
        Assert.Equal(
            ["image is busybox", "diskSizeGiB is 4", "hypervisor is Qemu", "network.ipAddress is 10.131.0.7", "network.maxBandwidthMbps is none"],
            plan.Unchangeable.Select(problem => problem[..problem.IndexOf(',', StringComparison.Ordinal)]));
    }

    [Fact]
    public void A_spec_without_a_hypervisor_or_address_accepts_the_vms()
    {
        var plan = VmSpecPlanner.Plan(Web with { Hypervisor = null, Network = Web.Network! with { IPAddress = null } }, Current(Web));

        Assert.Empty(plan.Changes);
        Assert.Empty(plan.Unchangeable);
    }

    [Fact]
    public void Adding_or_dropping_the_network_is_reported_and_its_ports_left_alone()
    {
        var plan = VmSpecPlanner.Plan(Web with { Network = null }, Current(Web));

        Assert.Empty(plan.Changes);
        Assert.StartsWith("network is lab, the spec says none", Assert.Single(plan.Unchangeable), StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_options_are_set_and_user_data_and_keys_reported()
    {
        var current = Web with { UserData = "#cloud-config\n", SshPublicKeys = ["ssh-ed25519 AAAA a"] };
        var desired = current with { MetadataHttpTokens = MetadataHttpTokens.Required, UserData = "#!/bin/sh\n", SshPublicKeys = [] };

        var plan = VmSpecPlanner.Plan(desired, Current(current));

        var change = Assert.IsType<SetMetadataOptionsChange>(Assert.Single(plan.Changes));
        Assert.Equal("Set metadata HttpTokens Optional -> Required", change.Action);
        Assert.Equal(
            ["userData differs from the spec's: VmPs cannot change it on an existing VM (remove and re-create the VM).", "sshPublicKeys differ from the spec's (1 here, 0 in the spec): VmPs cannot change it on an existing VM (remove and re-create the VM)."],
            plan.Unchangeable);
    }

    [Fact]
    public void Equal_user_data_and_keys_in_new_lists_need_nothing()
    {
        var current = Web with { UserData = "", SshPublicKeys = ["ssh-ed25519 AAAA a"] };

        var plan = VmSpecPlanner.Plan(current with { UserData = null, SshPublicKeys = ["ssh-ed25519 AAAA a"] }, Current(current));

        Assert.Empty(plan.Changes);
        Assert.Empty(plan.Unchangeable);
    }

    [Fact]
    public void A_different_disk_format_or_shares_are_reported_not_planned()
    {
        var current = Web with { Shares = [new ShareOptions("/srv/site", "/var/www", ReadOnly: true)] };

        var plan = VmSpecPlanner.Plan(current with { DiskFormat = DiskImageFormat.Qcow2, Shares = [] }, Current(current));

        Assert.Empty(plan.Changes);
        Assert.Equal(
            ["diskFormat is Raw, the spec says Qcow2: VmPs cannot change it on an existing VM (remove and re-create the VM).", "shares are /srv/site:/var/www:ro, the spec says none: VmPs cannot change it on an existing VM (remove and re-create the VM)."],
            plan.Unchangeable);
    }

    [Fact]
    public void Another_iso_is_set_and_another_firmware_reported()
    {
        var install = Web with { Image = "", IsoPath = "/srv/isos/a.iso", Firmware = ImageFirmware.Uefi };

        var plan = VmSpecPlanner.Plan(install with { IsoPath = "/srv/isos/b.iso", Firmware = ImageFirmware.Bios }, Current(install));

        var change = Assert.IsType<SetIsoPathChange>(Assert.Single(plan.Changes));
        Assert.Equal("Set ISO /srv/isos/a.iso -> /srv/isos/b.iso", change.Action);
        Assert.Equal(["image is blank-uefi, the spec says blank-bios"], plan.Unchangeable.Select(problem => problem[..problem.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Fact]
    public void An_install_whose_iso_was_ejected_is_the_same_vm_as_its_spec_and_gets_the_iso_back()
    {
        // Export-VmSpec of an ISO install after Set-Vm -IsoPath $null names its blank disk as its image.
        var ejected = Web with { Image = "blank-uefi" };
        var install = Web with { Image = "", IsoPath = "/srv/isos/a.iso", Firmware = ImageFirmware.Uefi };

        var back = VmSpecPlanner.Plan(install, Current(ejected));
        var eject = VmSpecPlanner.Plan(ejected, Current(install));

        Assert.Empty(back.Unchangeable);
        Assert.Equal("Set ISO (none) -> /srv/isos/a.iso", Assert.IsType<SetIsoPathChange>(Assert.Single(back.Changes)).Action);
        Assert.Empty(eject.Unchangeable);
        Assert.Equal("Set ISO /srv/isos/a.iso -> (none: boot the disk)", Assert.IsType<SetIsoPathChange>(Assert.Single(eject.Changes)).Action);
    }

    [Fact]
    public void Equal_shares_in_a_new_list_need_nothing()
    {
        var current = Web with { Shares = [new ShareOptions("/srv/site", "/var/www", ReadOnly: false)] };

        var plan = VmSpecPlanner.Plan(current with { Shares = [new ShareOptions("/srv/site", "/var/www", ReadOnly: false)] }, Current(current));

        Assert.Empty(plan.Unchangeable);
    }

    private static VmSpecCurrent Current(VmCreateOptions spec) => new(VmId, spec);
}
