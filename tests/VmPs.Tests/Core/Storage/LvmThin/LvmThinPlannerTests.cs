using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;

namespace VmPs.Tests.Core.Storage.LvmThin;

/// <summary>The exact lvcreate, lvextend and lvremove plans of the LvmThin backend, as data (flags per lvcreate(8), lvmthin(7)).</summary>
public sealed class LvmThinPlannerTests
{
    private const long GiB = 1024L * 1024 * 1024;
    private static readonly Guid Image = Guid.Parse("11111111-2222-3333-4444-555555555555");
    private static readonly Guid Vm = Guid.Parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    private static readonly Guid Volume = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");
    private readonly LvmThinPlanner planner = new("vg0", "pool");

    [Fact]
    public void A_base_image_is_a_thin_volume_of_the_images_virtual_size_filled_by_qemu_img_under_a_partial_name_then_renamed()
    {
        var plan = planner.CreateBaseImage(Image, 3 * GiB, "/var/lib/vmps/images/debian.qcow2", DiskImageFormat.Qcow2);

        Assert.Equal(
            [
                ["lvcreate", "--yes", "--type", "thin", "--name", "vmps-image-11111111222233334444555555555555-partial", "--virtualsize", "3221225472b", "--thinpool", "vg0/pool"],
                ["qemu-img", "convert", "-n", "-f", "qcow2", "-O", "raw", "/var/lib/vmps/images/debian.qcow2", "/dev/vg0/vmps-image-11111111222233334444555555555555-partial"],
                ["lvrename", "vg0", "vmps-image-11111111222233334444555555555555-partial", "vmps-image-11111111222233334444555555555555"],
            ],
            Argv(plan));
        Assert.Equal([["lvremove", "--yes", "vg0/vmps-image-11111111222233334444555555555555-partial"]], Argv(planner.RemovePartialBaseImage(Image)));
    }

    [Fact]
    public void A_direct_boot_vms_disk_is_a_thin_volume_formatted_as_a_disk_file_is()
    {
        Assert.Equal(
            [
                ["lvcreate", "--yes", "--type", "thin", "--name", "vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee", "--virtualsize", "1073741824b", "--thinpool", "vg0/pool"],
                ["mkfs.ext4", .. OverlayDisk.MkfsArguments("/dev/vg0/vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee")],
            ],
            Argv(planner.CreateVmOverlay(Vm, 1 * GiB)));
    }

    [Fact]
    public void Volume_names_are_read_from_the_usage_listing_active_or_not()
    {
        var names = LvmThinPlanner.ParseVolumeNames("  pool|1073741824|3.00\n  vmps-vm-a|67108864|\n  vmps-image-b|67108864|2.00\n\n  other|1|1\n");

        Assert.Equal(["vmps-image-b", "vmps-vm-a"], names.Order());
    }

    [Fact]
    public void A_vms_disk_is_an_activated_thin_snapshot_of_its_base_without_the_activation_skip_flag()
    {
        var plan = planner.CreateVmDisk(Image, 3 * GiB, Vm, 3 * GiB, growFilesystem: false);

        Assert.Equal(
            [["lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--activate", "y", "--name", "vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee", "vg0/vmps-image-11111111222233334444555555555555"]],
            Argv(plan));
        Assert.Equal("/dev/vg0/vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee", planner.DevicePath(LvmThinPlanner.VmDiskName(Vm)));
    }

    [Fact]
    public void A_vms_disk_larger_than_its_base_is_extended_after_the_snapshot_with_its_filesystem_when_asked()
    {
        var plan = planner.CreateVmDisk(Image, 1 * GiB, Vm, 4 * GiB, growFilesystem: true);

        Assert.Equal(2, plan.Count);
        Assert.Equal("lvcreate", plan[0].Program);
        Assert.Equal(["lvextend", "--size", "4294967296b", "--resizefs", "vg0/vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee"], Argv(plan)[1]);
        Assert.Equal(["lvextend", "--size", "4294967296b", "vg0/vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee"], Argv(planner.CreateVmDisk(Image, 1 * GiB, Vm, 4 * GiB, growFilesystem: false))[1]);
    }

    [Fact]
    public void Vm_disks_and_base_images_are_removed_by_lvremove_without_a_prompt()
    {
        Assert.Equal([["lvremove", "--yes", "vg0/vmps-vm-aaaaaaaabbbbccccddddeeeeeeeeeeee"]], Argv(planner.RemoveVmDisk(Vm)));
        Assert.Equal([["lvremove", "--yes", "vg0/vmps-image-11111111222233334444555555555555"]], Argv(planner.RemoveBaseImage(Image)));
    }

    [Fact]
    public void An_ext4_volume_is_a_thin_volume_formatted_as_a_file_volume_is_and_a_raw_one_only_the_thin_volume()
    {
        const string device = "/dev/vg0/vmps-volume-0123456789abcdef0123456789abcdef";
        string[] create = ["lvcreate", "--yes", "--type", "thin", "--name", "vmps-volume-0123456789abcdef0123456789abcdef", "--virtualsize", "10737418240b", "--thinpool", "vg0/pool"];

        Assert.Equal(
            [create, ["mkfs.ext4", "-q", "-F", "-t", "ext4", "-L", "vmps-volume", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0", device]],
            Argv(planner.CreateVolume(Volume, 10 * GiB, ext4: true)));
        Assert.Equal([create], Argv(planner.CreateVolume(Volume, 10 * GiB, ext4: false)));
        Assert.Equal(device, planner.DevicePath(LvmThinPlanner.VolumeName(Volume)));
    }

    [Fact]
    public void A_volume_grows_with_lvextend_and_its_ext4_with_it_and_goes_with_lvremove()
    {
        Assert.Equal([["lvextend", "--size", "21474836480b", "--resizefs", "vg0/vmps-volume-0123456789abcdef0123456789abcdef"]], Argv(planner.ResizeVolume(Volume, 20 * GiB, growFilesystem: true)));
        Assert.Equal([["lvextend", "--size", "21474836480b", "vg0/vmps-volume-0123456789abcdef0123456789abcdef"]], Argv(planner.ResizeVolume(Volume, 20 * GiB, growFilesystem: false)));
        Assert.Equal([["lvremove", "--yes", "vg0/vmps-volume-0123456789abcdef0123456789abcdef"]], Argv(planner.RemoveVolume(Volume)));
    }

    [Fact]
    public void Allocated_bytes_are_read_from_lvs_as_each_vmps_volumes_share_of_its_virtual_size()
    {
        Assert.Equal(
            ["lvs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "--options", "lv_name,lv_size,data_percent", "vg0"],
            Argv([planner.InspectUsage()])[0]);

        var allocated = LvmThinPlanner.ParseAllocatedBytes(
            "  pool|107374182400|12.50\n" +
            "  vmps-volume-a|1073741824|25.00\n" +
            "  vmps-volume-b|1073741824|0,50\n" +
            "  vmps-vm-c|3221225472|100.00\n" +
            "  vmps-volume-a|1073741824|99.00\n");

        // pool is not ours; a decimal comma is read; the first line of a name wins.
        Assert.Equal(
            new Dictionary<string, long> { ["vmps-volume-a"] = 268435456, ["vmps-volume-b"] = 5368709, ["vmps-vm-c"] = 3221225472 },
            allocated);
    }

    [Theory]
    [InlineData("  vmps-volume-a|1073741824|\n")] // inactive: lvs prints no percentage
    [InlineData("  vmps-volume-a|1073741824|100.01\n")]
    [InlineData("  vmps-volume-a|1073741824|-1.00\n")]
    [InlineData("  vmps-volume-a|-1073741824|5.00\n")]
    [InlineData("  vmps-volume-a|1G|5.00\n")]
    [InlineData("  vmps-volume-a|1073741824|5.00|extra\n")]
    [InlineData("  vmps-volume-a 1073741824 5.00\n")]
    [InlineData("  vmps-volume-a|99999999999999999999999|5.00\n")]
    [InlineData("  vmps-volume-a|1073741824|1e2\n")]
    [InlineData("")]
    public void A_line_lvs_prints_oddly_is_left_out_rather_than_read_wrong(string output)
    {
        Assert.Empty(LvmThinPlanner.ParseAllocatedBytes(output));
    }

    [Fact]
    public void The_pool_is_inspected_with_lvs_and_only_a_thin_pools_attributes_pass()
    {
        Assert.Equal(["lvs", "--noheadings", "--options", "lv_attr", "vg0/pool"], Argv([planner.InspectPool()])[0]);
        Assert.True(LvmThinPlanner.IsThinPool("  twi-a-tz--\n"));
        Assert.False(LvmThinPlanner.IsThinPool("  -wi-a-----\n"));
        Assert.False(LvmThinPlanner.IsThinPool(""));
    }

    [Fact]
    public void A_size_that_is_not_whole_sectors_is_refused_before_any_plan()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => planner.CreateVolume(Volume, GiB + 1, ext4: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => planner.ResizeVolume(Volume, 0, growFilesystem: false));
    }

    [Theory]
    [InlineData("vg0", "pool", null)]
    [InlineData("vg_data.1+x", "thin-pool_2", null)]
    [InlineData("", "pool", "it is empty")]
    [InlineData("-vg", "pool", "begins with a hyphen")]
    [InlineData("vg/0", "pool", "'/' is not one of")]
    [InlineData("vg 0", "pool", "' ' is not one of")]
    [InlineData("..", "pool", "reserved")]
    [InlineData("vg0", "snapshot", "reserved")]
    [InlineData("vg0", "pvmove", "reserved")]
    [InlineData("vg0", "my_tdata", "'_tdata'")]
    [InlineData("vg0", "x_rimage_0", "'_rimage'")]
    [InlineData("vgé", "pool", "'é' is not one of")]
    public void Names_follow_lvms_rules(string volumeGroup, string pool, string? refusal)
    {
        var error = Record.Exception(() => new LvmThinPlanner(volumeGroup, pool));

        if (refusal is null)
        {
            Assert.Null(error);
            return;
        }

        var vmps = Assert.IsType<VmPsException>(error);
        Assert.Equal(VmPsErrorIds.InvalidLvmName, vmps.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, vmps.Kind);
        Assert.Contains(refusal, vmps.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_is_at_most_127_characters()
    {
        Assert.Null(Record.Exception(() => new LvmThinPlanner(new string('v', 127), "pool")));
        Assert.Equal(VmPsErrorIds.InvalidLvmName, Assert.IsType<VmPsException>(Record.Exception(() => new LvmThinPlanner("vg0", new string('p', 128)))).ErrorId);
    }

    private static IReadOnlyList<string[]> Argv(IReadOnlyList<LvmCommand> plan) => plan.Select(command => (string[])[command.Program, .. command.Arguments]).ToList();
}
