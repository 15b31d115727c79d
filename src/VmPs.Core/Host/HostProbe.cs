using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Kernels;

namespace VmPs.Core.Host;

/// <summary>Where the host probe looks; the defaults describe the real host.</summary>
public sealed record HostProbeOptions
{
    /// <summary>Directories searched for tools, ':'-separated. Null: $PATH plus the sbin directories.</summary>
    public string? SearchPath { get; init; }

    public string BootDirectory { get; init; } = KernelLocator.DefaultBootDirectory;

    public string ModulesRoot { get; init; } = KernelLocator.DefaultModulesRoot;

    public string KvmDevice { get; init; } = "/dev/kvm";

    public string VhostVsockDevice { get; init; } = "/dev/vhost-vsock";

    /// <summary>The guest binary for the KVM boot test. Null: <see cref="GuestBinary.Locate()"/>.</summary>
    public string? GuestBinaryPath { get; init; }

    /// <summary>The hypervisors whose availability the report gives.</summary>
    public HypervisorRegistry Hypervisors { get; init; } = HypervisorRegistry.Default();

    /// <summary>How long the KVM boot test waits for the guest's marker.</summary>
    public TimeSpan KvmBootTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Where UEFI and BIOS firmware are looked for.</summary>
    public FirmwareSearch Firmware { get; init; } = new();
}

/// <summary>
/// Inspects the host for Get-VmHost and hypervisor selection: installed hypervisors and tools, whether
/// KVM really runs guests (a cached boot test), the default kernel and the state directory. Anything
/// missing is named in <see cref="HostReport.Problems"/> with the package that provides it.
/// </summary>
public static class HostProbe
{
    public static Task<HostReport> ProbeAsync(VmPsPaths paths, CancellationToken cancellationToken) =>
        ProbeAsync(paths, new HostProbeOptions(), cancellationToken);

    public static async Task<HostReport> ProbeAsync(VmPsPaths paths, HostProbeOptions options, CancellationToken cancellationToken)
    {
        var searchPath = options.SearchPath ?? HostToolCatalog.DefaultSearchPath();
        var found = await Task.WhenAll(HostToolCatalog.All.Select(tool => HostToolCatalog.FindAsync(tool, searchPath, cancellationToken))).ConfigureAwait(false);
        var tools = HostToolCatalog.All.Zip(found).ToDictionary(pair => pair.First, pair => pair.Second);
        var qemu = tools[HostToolCatalog.Qemu];

        var problems = new List<string>();
        AddToolProblems(tools, problems);
        var distroKernel = KernelLocator.FindDefault(options.BootDirectory, options.ModulesRoot);
        var vmpsKernel = new KernelCache(paths).ReadCurrent(out var kernelCacheProblem);
        var kernel = vmpsKernel?.ToKernelInfo() ?? distroKernel;
        AddKernelProblems(kernel, options, problems);
        if (kernelCacheProblem is not null)
        {
            problems.Add(kernelCacheProblem);
        }

        var firmware = FirmwareCatalog.Find(options.Firmware);
        problems.AddRange(FirmwareCatalog.Problems(firmware));
        var kvm = await ProbeKvmAsync(paths, options, qemu, kernel, problems, cancellationToken).ConfigureAwait(false);
        if (!kvm.Usable)
        {
            problems.Add($"KVM cannot run guests ({kvm.Detail}): QEMU falls back to TCG (software emulation, slower) and Cloud Hypervisor cannot run.");
        }

        return new HostReport
        {
            Hypervisors = options.Hypervisors.Registrations.Select(registration => Availability(registration, tools[registration.Tool], kvm)).ToList(),
            Kvm = kvm,
            QemuAccelerator = kvm.Usable ? Accelerator.Kvm : Accelerator.Tcg,
            DefaultKernel = kernel,
            DistroKernel = distroKernel,
            VmPsKernel = vmpsKernel,
            Tools = found,
            Firmware = firmware,
            VhostVsockAvailable = File.Exists(options.VhostVsockDevice),
            StateDirectory = paths.Root,
            Problems = problems,
        };
    }

    private static HypervisorAvailability Availability(HypervisorRegistration registration, HostTool tool, KvmStatus kvm) =>
        new(
            registration.Kind,
            tool,
            tool.Installed && (kvm.Usable || !registration.NeedsKvm),
            !tool.Installed ? "not installed"
                : kvm.Usable ? null
                : registration.NeedsKvm ? "needs KVM, which cannot run guests here"
                : "runs with TCG (software emulation): KVM cannot run guests here");

    private static void AddToolProblems(IReadOnlyDictionary<HostToolDefinition, HostTool> tools, List<string> problems)
    {
        foreach (var (definition, tool) in tools.Where(pair => !pair.Value.Installed))
        {
            problems.Add($"{tool.Name} is not installed ({definition.Purpose}): install {tool.Package}.");
        }

        var busybox = tools[HostToolCatalog.Busybox];
        if (busybox.Path is not null && ElfFile.IsDynamicallyLinked(busybox.Path))
        {
            problems.Add($"busybox at {busybox.Path} is dynamically linked, so it cannot run inside the default image: install {busybox.Package}.");
        }
    }

    private static void AddKernelProblems(KernelInfo? kernel, HostProbeOptions options, List<string> problems)
    {
        if (kernel is null)
        {
            problems.Add($"No default guest kernel: no {options.BootDirectory}/vmlinuz-VERSION with a matching {options.ModulesRoot}/VERSION. "
                + "Install linux-image-cloud-amd64 (Debian) or linux-image-virtual (Ubuntu), build the VmPs kernel (Build-VmKernel), or pass -Kernel.");
        }
        else if (!IsReadable(kernel.Path))
        {
            var error = KernelLocator.KernelNotReadable(kernel.Path);
            problems.Add($"{error.Message} {error.RecommendedAction}");
        }
    }

    private static async Task<KvmStatus> ProbeKvmAsync(
        VmPsPaths paths,
        HostProbeOptions options,
        HostTool qemu,
        KernelInfo? kernel,
        List<string> problems,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(options.KvmDevice))
        {
            return new KvmStatus(false, false, $"{options.KvmDevice} does not exist (no KVM module loaded, or nested virtualization is off)");
        }

        try
        {
            using var device = File.Open(options.KvmDevice, FileMode.Open, FileAccess.ReadWrite);
        }
        catch (UnauthorizedAccessException)
        {
            return new KvmStatus(true, false, $"{options.KvmDevice} is not accessible to this user: add the user to the 'kvm' group");
        }

        if (!qemu.Installed)
        {
            return new KvmStatus(true, false, $"not verified: the KVM boot test needs {qemu.Name}");
        }

        if (kernel is null || !IsReadable(kernel.Path))
        {
            return new KvmStatus(true, false, "not verified: the KVM boot test needs a readable guest kernel");
        }

        string guestBinary;
        try
        {
            guestBinary = options.GuestBinaryPath ?? GuestBinary.Locate();
        }
        catch (VmPsException ex)
        {
            problems.Add($"{ex.Message} {ex.RecommendedAction}");
            return new KvmStatus(true, false, "not verified: the KVM boot test needs the guest binary");
        }

        try
        {
            return await new KvmBootTest(paths, options.KvmBootTimeout).RunAsync(qemu, kernel, guestBinary, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex)
        {
            problems.Add(ex.RecommendedAction is null ? ex.Message : $"{ex.Message} {ex.RecommendedAction}");
            return new KvmStatus(true, false, $"not verified: the KVM boot test could not be prepared ({ex.Message})");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"The state directory '{paths.Root}' is not usable: {ex.Message}");
            return new KvmStatus(true, false, $"not verified: the KVM boot test could not write to the state directory ({ex.Message})");
        }
    }

    internal static bool IsReadable(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return true;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}
