using VmPs.Protocol;

namespace VmPs.Tests.Protocol;

public class ConsoleMarkersTests
{
    [Fact]
    public void The_poweroff_of_the_last_boot_gives_reason_and_exit_code()
    {
        var console = string.Join("\r\n",
            "[    0.31] PCI: Fatal: No config space access function found",
            ConsoleMarkers.FormatBoot("0.1.0"),
            ConsoleMarkers.AgentReady + " uptime=2.90",
            "app output",
            "[    6.50] " + ConsoleMarkers.FormatPoweroff(PoweroffReasons.EntrypointExited, 3),
            "[    6.58] reboot: Power down",
            "");

        Assert.True(ConsoleMarkers.TryParsePoweroff(console, out var reason, out var exitCode));
        Assert.Equal((PoweroffReasons.EntrypointExited, 3), (reason, exitCode));
    }

    [Fact]
    public void A_shutdown_has_a_reason_and_no_exit_code()
    {
        var console = ConsoleMarkers.FormatBoot("0.1.0") + "\n" + ConsoleMarkers.FormatPoweroff(PoweroffReasons.ShutdownRequested, null) + "\n";

        Assert.True(ConsoleMarkers.TryParsePoweroff(console, out var reason, out var exitCode));
        Assert.Equal(PoweroffReasons.ShutdownRequested, reason);
        Assert.Null(exitCode);
    }

    [Fact]
    public void A_crash_after_an_earlier_clean_boot_has_no_poweroff()
    {
        var console = string.Join("\n",
            ConsoleMarkers.FormatBoot("0.1.0"),
            ConsoleMarkers.FormatPoweroff(PoweroffReasons.EntrypointExited, 0),
            ConsoleMarkers.FormatBoot("0.1.0"),
            "Kernel panic - not syncing: Attempted to kill init!");

        Assert.False(ConsoleMarkers.TryParsePoweroff(console, out var reason, out _));
        Assert.Null(reason);
    }

    [Fact]
    public void A_log_without_markers_has_no_poweroff()
    {
        Assert.False(ConsoleMarkers.TryParsePoweroff("", out _, out _));
        Assert.False(ConsoleMarkers.TryParsePoweroff("[vmps] poweroff\n", out _, out _));
    }

    [Fact]
    public void The_last_error_of_the_last_boot_is_reported()
    {
        var console = string.Join("\n",
            ConsoleMarkers.FormatBoot("0.1.0"),
            ConsoleMarkers.FormatError("old"),
            ConsoleMarkers.FormatBoot("0.1.0"),
            ConsoleMarkers.FormatError("No disk with serial vmps-rootfs appeared within 15 s"),
            ConsoleMarkers.FormatPoweroff(PoweroffReasons.InitFailed, null));

        Assert.Equal("No disk with serial vmps-rootfs appeared within 15 s", ConsoleMarkers.LastError(console));
        Assert.True(ConsoleMarkers.TryParsePoweroff(console, out var reason, out _));
        Assert.Equal(PoweroffReasons.InitFailed, reason);
    }
}
