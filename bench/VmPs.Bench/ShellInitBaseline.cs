using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Bench;

/// <summary>
/// The peer baseline: the same kernel (the vmlinux where the VmPs kernel has one), hypervisor and QEMU command line, with an initrd whose /init
/// is a busybox shell script that prints a marker and powers off. The time to that marker is the
/// floor a guest init can reach on this machine.
/// </summary>
internal sealed class ShellInitBaseline(HostReport host, KernelInfo kernel, string workDirectory)
{
    private const string Marker = "VMPS-BASELINE-MARKER";

    public async Task<TimeSpan> MeasureAsync(int run, CancellationToken cancellationToken)
    {
        var vmDirectory = Path.Combine(workDirectory, $"baseline-{run}");
        Directory.CreateDirectory(vmDirectory);
        var initrd = Path.Combine(workDirectory, "baseline-initrd.img");
        if (!File.Exists(initrd))
        {
            await WriteInitrdAsync(initrd, cancellationToken);
        }

        var spec = new VmLaunchSpec
        {
            VmName = $"baseline-{run}",
            VmDirectory = vmDirectory,
            KernelPath = kernel.Path,
            VmlinuxPath = kernel.VmlinuxPath,
            InitrdPath = initrd,
            KernelArguments = "quiet",
            Cpus = 1,
            MemoryMiB = 512,
            Disks = [],
            ConsoleLogPath = Path.Combine(vmDirectory, "console.log"),
            HypervisorLogPath = Path.Combine(vmDirectory, "hypervisor.log"),
            VsockCid = 3,
        };
        var driver = new QemuDriver(QemuDriverOptions.ForHost(host));
        var stopwatch = Stopwatch.StartNew();
        var instance = await driver.LaunchAsync(spec, cancellationToken);
        try
        {
            await ConsoleWatch.WaitForAsync(spec.ConsoleLogPath, Marker, TimeSpan.FromMinutes(1), cancellationToken);
            return stopwatch.Elapsed;
        }
        finally
        {
            await driver.KillAsync(instance, CancellationToken.None);
        }
    }

    private static async Task WriteInitrdAsync(string path, CancellationToken cancellationToken)
    {
        var busybox = await File.ReadAllBytesAsync("/bin/busybox", cancellationToken);
        var script = Encoding.ASCII.GetBytes($"#!/bin/busybox sh\n/bin/busybox echo {Marker}\n/bin/busybox poweroff -f\n");
        await using var file = File.Create(path);
        await using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        var cpio = new CpioWriter(gzip);
        await cpio.AddDirectoryAsync("bin", 0x1ED, cancellationToken);
        await cpio.AddDirectoryAsync("dev", 0x1ED, cancellationToken);
        await cpio.AddCharacterDeviceAsync("dev/console", 0x180, 5, 1, cancellationToken);
        await cpio.AddFileAsync("bin/busybox", 0x1ED, busybox, cancellationToken);
        await cpio.AddFileAsync("init", 0x1ED, script, cancellationToken);
        await cpio.FinishAsync(cancellationToken);
    }
}

internal static class ConsoleWatch
{
    /// <summary>Polls a console log every millisecond until it contains the marker.</summary>
    public static async Task WaitForAsync(string path, string marker, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < limit)
        {
            if (File.Exists(path) && (await File.ReadAllTextAsync(path, cancellationToken)).Contains(marker, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(1, cancellationToken);
        }

        throw new TimeoutException($"'{marker}' did not appear in {path} within {limit}.");
    }
}
