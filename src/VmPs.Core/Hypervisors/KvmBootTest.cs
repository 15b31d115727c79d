using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Hypervisors;

/// <summary>
/// Decides whether KVM can really run a guest by booting one: /dev/kvm can exist and open yet be
/// unable to run a stock kernel (nested PVM-based KVM hangs or aborts on an MSR). The guest binary,
/// started with vmps.probe=1, prints <see cref="Marker"/> on the console and powers off. The outcome
/// is cached per host boot, kernel and QEMU version, so the boot runs once.
/// </summary>
internal sealed class KvmBootTest
{
    public const string ProbeKernelArgument = "vmps.probe=1";
    public const string Marker = "[vmps] probe-ok";

    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly VmPsPaths paths;
    private readonly TimeSpan timeout;

    public KvmBootTest(VmPsPaths paths, TimeSpan timeout)
    {
        this.paths = paths;
        this.timeout = timeout;
    }

    private string CacheDirectory => Path.Combine(paths.CacheDirectory, "kvm-probe");

    public async Task<KvmStatus> RunAsync(HostTool qemu, KernelInfo kernel, string guestBinaryPath, CancellationToken cancellationToken)
    {
        var cachePath = Path.Combine(CacheDirectory, CacheKey(qemu, kernel) + ".json");
        if (ReadCached(cachePath) is { } cached)
        {
            return cached;
        }

        var result = await BootAsync(qemu.Path!, kernel, guestBinaryPath, cancellationToken).ConfigureAwait(false);
        WriteCached(cachePath, result);
        return result;
    }

    private async Task<KvmStatus> BootAsync(string qemuPath, KernelInfo kernel, string guestBinaryPath, CancellationToken cancellationToken)
    {
        var initrd = await new InitrdBuilder(paths).BuildAsync(guestBinaryPath, kernel, cancellationToken).ConfigureAwait(false);
        var runDirectory = Path.Combine(CacheDirectory, "run-" + Guid.NewGuid().ToString("N")[..8]);
        var spec = new VmLaunchSpec
        {
            VmName = "vmps-kvm-probe",
            VmDirectory = runDirectory,
            KernelPath = kernel.Path,
            VmlinuxPath = kernel.VmlinuxPath,
            InitrdPath = initrd,
            KernelArguments = ProbeKernelArgument,
            Cpus = 1,
            MemoryMiB = 256,
            Disks = [],
            ConsoleLogPath = Path.Combine(runDirectory, "console.log"),
            HypervisorLogPath = Path.Combine(runDirectory, "qemu.log"),
            VsockCid = 3,
        };
        var driver = new QemuDriver(new QemuDriverOptions(qemuPath, Accelerator.Kvm) { StartTimeout = timeout });
        PrivateFiles.CreateDirectory(runDirectory);
        try
        {
            HypervisorInstance instance;
            try
            {
                instance = await driver.LaunchAsync(spec, cancellationToken).ConfigureAwait(false);
            }
            catch (VmPsException ex)
            {
                return Unusable($"QEMU could not start a guest with -accel kvm: {ex.Message}");
            }

            try
            {
                return await WatchConsoleAsync(instance, spec.ConsoleLogPath, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await driver.KillAsync(instance, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }

    private async Task<KvmStatus> WatchConsoleAsync(HypervisorInstance instance, string consoleLogPath, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var console = File.Exists(consoleLogPath) ? await File.ReadAllTextAsync(consoleLogPath, cancellationToken).ConfigureAwait(false) : string.Empty;
            if (console.Contains(Marker, StringComparison.Ordinal))
            {
                return new KvmStatus(DevicePresent: true, Usable: true, "A test guest booted under KVM (-accel kvm -cpu host).");
            }

            var exited = !ProcessProbe.IsRunning(instance.Process);
            if (exited || DateTime.UtcNow >= deadline)
            {
                var what = exited ? "QEMU exited before the guest reported" : $"the guest did not report within {timeout.TotalSeconds:0} s";
                return Unusable($"{what} under -accel kvm -cpu host; last console line: '{LastLine(console)}'.");
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static KvmStatus Unusable(string detail) =>
        new(DevicePresent: true, Usable: false, $"/dev/kvm exists but cannot boot a guest: {detail}");

    private static string LastLine(string console)
    {
        var lines = console.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(nothing)" : lines[^1];
    }

    private static string CacheKey(HostTool qemu, KernelInfo kernel)
    {
        var bootId = File.Exists(BootIdPath) ? File.ReadAllText(BootIdPath).Trim() : "unknown-boot";
        var key = string.Join('\n', bootId, kernel.Path, qemu.Path, qemu.Version);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32].ToLowerInvariant();
    }

    private static KvmStatus? ReadCached(string cachePath)
    {
        try
        {
            return JsonSerializer.Deserialize<KvmStatus>(File.ReadAllText(cachePath));
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WriteCached(string cachePath, KvmStatus status)
    {
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(cachePath)!);
        var temporaryPath = $"{cachePath}.{Guid.NewGuid():N}.tmp";
        using (var file = new StreamWriter(PrivateFiles.Open(temporaryPath, FileMode.CreateNew, FileAccess.Write)))
        {
            file.Write(JsonSerializer.Serialize(status));
        }

        File.Move(temporaryPath, cachePath, overwrite: true);
    }
}
