using VmPs.Core;
using VmPs.Core.Kernels;

namespace VmPs.Tests.Core.Kernels;

public sealed class KernelConfigFragmentTests
{
    [Fact]
    public void Settings_and_not_set_lines_parse_comments_are_ignored_and_later_lines_win()
    {
        var fragment = KernelConfigFragment.Parse(
            """
            # a comment
            CONFIG_A=y
            CONFIG_B="text with spaces"
            # CONFIG_C is not set

            CONFIG_A=n
            """,
            "test");

        Assert.Equal(new Dictionary<string, string?> { ["CONFIG_A"] = "n", ["CONFIG_B"] = "\"text with spaces\"", ["CONFIG_C"] = null }, fragment.Settings);
        Assert.Equal("CONFIG_A=n\nCONFIG_B=\"text with spaces\"\n# CONFIG_C is not set\n", fragment.Text);
    }

    [Fact]
    public void A_line_that_is_no_setting_is_an_error_naming_the_line()
    {
        var error = Assert.Throws<VmPsException>(() => KernelConfigFragment.Parse("CONFIG_A=y\nVIRTIO=y\n", "extra.config"));

        Assert.Equal(("KernelConfigInvalid", VmPsErrorKind.InvalidData, "extra.config"), (error.ErrorId, error.Kind, error.Target));
        Assert.Contains("Line 2", error.Message);
        Assert.Contains("'VIRTIO=y'", error.Message);
    }

    [Fact]
    public void The_hash_ignores_comments_and_order_but_not_values()
    {
        var first = KernelConfigFragment.Parse("# one\nCONFIG_A=y\nCONFIG_B=y\n", "a");
        var reordered = KernelConfigFragment.Parse("CONFIG_B=y\n\n# two\nCONFIG_A=y\n", "b");
        var changed = KernelConfigFragment.Parse("CONFIG_A=y\nCONFIG_B=n\n", "c");

        Assert.Equal(first.Hash, reordered.Hash);
        Assert.NotEqual(first.Hash, changed.Hash);
    }

    [Fact]
    public void A_user_fragment_overrides_and_extends_the_VmPs_fragment()
    {
        var user = KernelConfigFragment.Parse("# CONFIG_IPV6 is not set\nCONFIG_NEW_OPTION=y\n", "user");

        var merged = KernelConfigFragment.VmPs.With(user);

        Assert.Null(merged.Settings["CONFIG_IPV6"]);
        Assert.Equal("y", merged.Settings["CONFIG_NEW_OPTION"]);
        Assert.Equal("y", merged.Settings["CONFIG_VIRTIO_BLK"]);
        Assert.Equal("y", KernelConfigFragment.VmPs.Settings["CONFIG_IPV6"]);
    }

    [Fact]
    public void Dropped_settings_are_those_the_built_config_lacks_or_changed()
    {
        var fragment = KernelConfigFragment.Parse("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n# CONFIG_D is not set\n# CONFIG_E is not set\nCONFIG_F=\"x\"\n", "f");
        var built = "CONFIG_A=y\n# CONFIG_B is not set\n# CONFIG_D is not set\nCONFIG_F=\"x\"\n";

        Assert.Equal(
            ["CONFIG_B=y (the .config has is not set)", "CONFIG_C=y (the .config has nothing)"],
            fragment.FindDropped(built));
        Assert.Equal(["# CONFIG_A is not set (the .config has CONFIG_A=y)"], KernelConfigFragment.Parse("# CONFIG_A is not set", "g").FindDropped(built));
    }

    [Fact]
    public void The_VmPs_fragment_builds_in_what_the_issue_asks_and_leaves_out_modules()
    {
        var settings = KernelConfigFragment.VmPs.Settings;
        string[] builtIn =
        [
            "CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_PCI", "CONFIG_VIRTIO_BLK", "CONFIG_VIRTIO_NET", "CONFIG_VIRTIO_CONSOLE", "CONFIG_HW_RANDOM_VIRTIO",
            "CONFIG_VIRTIO_VSOCKETS", "CONFIG_EROFS_FS", "CONFIG_EROFS_FS_ZIP", "CONFIG_EXT4_FS", "CONFIG_OVERLAY_FS", "CONFIG_VIRTIO_FS",
            "CONFIG_ACPI_BUTTON", "CONFIG_INPUT_EVDEV", "CONFIG_PVH", "CONFIG_BLK_DEV_INITRD", "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_DEVTMPFS", "CONFIG_TMPFS",
        ];

        Assert.All(builtIn, option => Assert.Equal("y", settings[option]));
        Assert.Null(settings["CONFIG_MODULES"]);
        Assert.DoesNotContain(settings, setting => setting.Value == "m");
    }
}
