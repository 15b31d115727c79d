using System.Diagnostics;
using System.Text.RegularExpressions;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.Integration;

/// <summary>
/// A Debian cloud image built in the tests (see <see cref="DebianCloudImage"/>) booted by real QEMU (TCG) on q35 through
/// OVMF, on a VmPs network in a namespace of the test's own: cloud-init reads the VmPs seed disk and sets the hostname,
/// the allocated address and the SSH key, starts the VmPs agent (Start-Vm returns when it answers; exec and the metadata
/// service work through it), and runs the user data, whose report on the serial console the test reads.
/// </summary>
[Collection(VmBootCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DebianCloudBootTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Firmware, GRUB, the kernel, systemd and cloud-init's Python all run under TCG on a shared machine.</summary>
    private static readonly TimeSpan BootDeadline = TimeSpan.FromMinutes(15);

    private const string Key = SampleSshKeys.Ed25519;

    /// <summary>The user data's report, between markers, on the console cloud-init's final stage writes to.</summary>
    private const string UserData = """
        #!/bin/sh
        {
          echo "vmps-report-begin"
          echo "hostname=$(hostname)"
          ip -o -4 addr show | sed 's/^/addr=/'
          cat /home/*/.ssh/authorized_keys | sed 's/^/key=/'
          ip -4 route show default | sed 's/^/route=/'
          echo "vmps-report-end"
        } > /dev/ttyS0 2>&1

        """;

    /// <summary>An IMDSv2 token, then the VM's address with it, by the image's own Python (no curl in a minimal image).</summary>
    private const string ImdsRequest = """
        import urllib.request as r
        token = r.urlopen(r.Request("http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=10).read().decode()
        print(r.urlopen(r.Request("http://169.254.169.254/latest/meta-data/local-ipv4", headers={"X-aws-ec2-metadata-token": token}), timeout=10).read().decode())
        """;

    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [RequiresCloudImageBootFact]
    public async Task Cloud_init_applies_the_seed_hostname_address_ssh_key_and_user_data_and_starts_the_agent_under_ovmf()
    {
        var image = await DebianCloudImage.PathAsync(output.WriteLine);
        using var scratch = await ScratchNamespace.CreateAsync();
        var manager = new VmManager(home.Paths, new VmManagerSettings { NetworkNamespace = scratch.Namespace });
        try
        {
            var network = await manager.Networks.CreateAsync(new NetworkCreateOptions { Name = "cloud", Subnet = "10.204.0.0/24" }, CancellationToken.None);
            await new ImageManager(home.Paths).AddDiskAsync(new DiskImageAddOptions { Path = image, Name = "debian" }, null, CancellationToken.None);
            var vm = await manager.CreateAsync(
                new VmCreateOptions
                {
                    Name = "cloudvm", Image = "debian", DiskSizeGiB = 3, MemoryMiB = 1024, Cpus = 2,
                    Network = new VmNetworkOptions { Network = "cloud" }, UserData = UserData, SshPublicKeys = [Key],
                },
                CancellationToken.None);

            var watch = Stopwatch.StartNew();
            var started = await manager.StartAsync("cloudvm", new VmStartOptions { Timeout = BootDeadline }, null, CancellationToken.None);
            output.WriteLine($"Start-Vm to agent-ready through OVMF and cloud-init: {watch.Elapsed.TotalSeconds:0} s");
            Assert.Null(started.StatusDetail);

            // The agent cloud-init started from the seed answers as on any VM, and serves the VM's metadata (IMDSv2).
            var hostname = await manager.ExecAsync("cloudvm", new VmExecOptions { Command = ["cat", "/etc/hostname"] }, CancellationToken.None);
            Assert.Equal((0, "cloudvm"), (hostname.ExitCode, hostname.Stdout.Trim()));
            var imds = await manager.ExecAsync("cloudvm", new VmExecOptions { Command = ["python3", "-c", ImdsRequest] }, CancellationToken.None);
            Assert.True(imds.ExitCode == 0, imds.Stderr);
            Assert.Equal(vm.IPAddress, imds.Stdout.Trim());

            var report = await WaitForReportAsync(Path.Combine(vm.Directory, "console.log"));
            output.WriteLine($"Start-Vm to the user data's report through OVMF: {watch.Elapsed.TotalSeconds:0} s");
            output.WriteLine(string.Join(Environment.NewLine, report));

            Assert.Contains("hostname=cloudvm", report);
            Assert.Contains(report, line => line.StartsWith("addr=", StringComparison.Ordinal) && line.Contains($"inet {vm.IPAddress}/24", StringComparison.Ordinal));
            Assert.Contains(report, line => line.StartsWith($"route=default via {network.Gateway} ", StringComparison.Ordinal));
            Assert.Contains($"key={Key}", report);
            var ping = await scratch.ExecAsync("busybox", "ping", "-c", "1", "-W", "5", vm.IPAddress!);
            Assert.True(ping.ExitCode == 0, $"the guest does not answer at {vm.IPAddress}: {ping.StandardOutput}{ping.StandardError}");
        }
        finally
        {
            manager.RemoveAllVms();
        }
    }

    private static async Task<List<string>> WaitForReportAsync(string console)
    {
        using var deadline = new CancellationTokenSource(BootDeadline);
        while (true)
        {
            var text = File.Exists(console) ? await File.ReadAllTextAsync(console, CancellationToken.None) : "";
            var report = ReportPattern().Match(text);
            if (report.Success)
            {
                return [.. report.Groups[1].Value.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
            }

            await Task.Delay(TimeSpan.FromSeconds(2), deadline.Token);
        }
    }

    [GeneratedRegex("vmps-report-begin\r?\n(.*?)vmps-report-end", RegexOptions.Singleline)]
    private static partial Regex ReportPattern();
}

/// <summary>A networked VM boot through OVMF of the Debian cloud image, which the test builds with the programs it names.</summary>
public sealed class RequiresCloudImageBootFactAttribute : FactAttribute
{
    public RequiresCloudImageBootFactAttribute()
    {
        var missing = DebianCloudImage.Programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        Skip = RequiresNetworkedVmBootFactAttribute.Reason
            ?? new RequiresOvmfFactAttribute().Skip
            ?? (missing.Length > 0 ? $"skipped: {string.Join(", ", missing)} not on PATH (the test image is built with them)" : null);
    }
}
