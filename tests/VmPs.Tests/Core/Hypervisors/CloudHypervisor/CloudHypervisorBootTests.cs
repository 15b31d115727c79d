using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>Boots the host's kernel through the real cloud-hypervisor binary, where it is installed.</summary>
[Collection(VmBootCollection.Name)]
public sealed class CloudHypervisorBootTests : IDisposable
{
    // Bounds on waiting for a real guest, so a broken boot fails instead of hanging; not speed assertions.
    private static readonly TimeSpan BootPatience = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan PowerOffPatience = TimeSpan.FromSeconds(60);

    private const string GuestUpMarker = "VMPS-CH-GUEST-UP";

    // PID 1 of the test guest: marks the console once up, powers off on the ACPI power button
    // (the kernel reports it on an evdev device named "Power Button").
    private const string InitScript = """
        #!/bin/busybox sh
        export PATH=/bin
        /bin/busybox --install -s /bin
        mkdir -p /proc /sys /dev
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        for module in /modules/*.ko; do [ -e "$module" ] && insmod "$module"; done
        for device in /sys/class/input/event*; do
          if grep -q "Power Button" "$device/device/name"; then
            (dd if="/dev/input/${device##*/}" bs=24 count=1 of=/dev/null 2>/dev/null; poweroff -f) &
          fi
        done
        echo VMPS-CH-GUEST-UP
        while true; do sleep 3600; done
        """;

    private readonly ChTestVm vm = new();

    public void Dispose() => vm.Dispose();

    [RequiresProgramFact("cloud-hypervisor", "cpio", "busybox")]
    public async Task HostKernelBootsAndPowersOffOnThePowerButton()
    {
        var (kernel, modulesDirectory) = HostKernel();
        var initrd = await BuildInitrdAsync(modulesDirectory);
        var driver = new CloudHypervisorDriver();
        var spec = vm.Spec(kernel, initrd, kernelArguments: "", disks: []);

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);
        try
        {
            using var boot = new CancellationTokenSource(BootPatience);
            var monitor = new CloudHypervisorEventMonitor(CloudHypervisorVmFiles.In(vm.Directory).EventMonitor);
            await monitor.WaitForAsync(CloudHypervisorEvents.VmSource, CloudHypervisorEvents.Booted, boot.Token);
            await WaitForConsoleAsync(spec.ConsoleLogPath, GuestUpMarker, boot.Token);

            await driver.PressPowerButtonAsync(instance, CancellationToken.None);

            Assert.True(await ProcessProbe.WaitForExitAsync(instance.Process, PowerOffPatience, CancellationToken.None), "cloud-hypervisor did not exit after the guest powered off");
            Assert.True(CloudHypervisorEventMonitor.ReadExit(vm.Directory).GuestPoweredOff);
        }
        finally
        {
            await driver.KillAsync(instance, CancellationToken.None);
        }
    }

    private static (string Kernel, string ModulesDirectory) HostKernel()
    {
        var kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault()
            ?? throw new InvalidOperationException("No /boot/vmlinuz-* kernel on this host.");
        var version = Path.GetFileName(kernel)["vmlinuz-".Length..];
        return (kernel, Path.Combine("/lib/modules", version));
    }

    /// <summary>An uncompressed newc initramfs: busybox, the init script, and the power-button modules if they are modules.</summary>
    private async Task<string> BuildInitrdAsync(string modulesDirectory)
    {
        var root = Directory.CreateDirectory(vm.PathOf("initrd-root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "modules"));
        File.Copy(DetachedProcess.ResolveExecutable("busybox"), Path.Combine(root, "bin", "busybox"));
        File.WriteAllText(Path.Combine(root, "init"), InitScript.Replace("\r\n", "\n") + "\n");
        foreach (var module in new[] { "kernel/drivers/acpi/button.ko", "kernel/drivers/input/evdev.ko" })
        {
            var source = Path.Combine(modulesDirectory, module);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(root, "modules", Path.GetFileName(module)));
            }
        }

        await ExternalTool.RunCheckedAsync("chmod", ["0755", Path.Combine(root, "init"), Path.Combine(root, "bin", "busybox")], CancellationToken.None);
        var entries = Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path));
        var initrd = vm.PathOf("initrd.cpio");
        await ExternalTool.RunCheckedAsync(
            "cpio",
            ["--create", "--format=newc", $"--directory={root}", $"--file={initrd}"],
            CancellationToken.None,
            standardInput: string.Join('\n', entries) + "\n");
        return initrd;
    }

    private static async Task WaitForConsoleAsync(string consoleLog, string marker, CancellationToken cancellationToken)
    {
        while (!File.Exists(consoleLog) || !(await File.ReadAllTextAsync(consoleLog, cancellationToken)).Contains(marker, StringComparison.Ordinal))
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
