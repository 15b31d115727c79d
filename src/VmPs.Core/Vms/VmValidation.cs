using System.Globalization;
using System.Text.RegularExpressions;

namespace VmPs.Core.Vms;

/// <summary>Checks New-Vm's settings before anything is allocated; each failure has its own ErrorId.</summary>
internal static partial class VmValidation
{
    public const int MaxNameLength = 63;
    public const int MinMemoryMiB = 64;
    public const int MaxDiskSizeGiB = 8192;

    /// <summary>Past 4 vCPUs per host core a guest only slows down; 254 is the hypervisors' own limit.</summary>
    public static int MaxCpus => Math.Min(254, 4 * Environment.ProcessorCount);

    public static void ValidateName(string? name)
    {
        if (!IsValidName(name))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidVmName,
                VmPsErrorKind.InvalidArgument,
                $"'{name}' is not a valid VM name: use 1 to {MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.",
                name);
        }
    }

    /// <summary>1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit: the rule for VM and volume names.</summary>
    public static bool IsValidName(string? name) => !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && NamePattern().IsMatch(name);

    public static void ValidateCreate(VmCreateOptions options, long hostMemoryMiB)
    {
        ValidateName(options.Name);
        // An ISO install has no image: its disk is the built-in blank one (VmManager checks the pair).
        if (options.IsoPath is null && string.IsNullOrWhiteSpace(options.Image))
        {
            throw new VmPsException(VmPsErrorIds.InvalidImageName, VmPsErrorKind.InvalidArgument, "An image name is required.", options.Image);
        }

        ValidateResources(options.Cpus, options.MemoryMiB, hostMemoryMiB);
        ValidateDiskSize(options.DiskSizeGiB);
    }

    public static void ValidateDiskSize(int sizeGiB)
    {
        if (sizeGiB < 1 || sizeGiB > MaxDiskSizeGiB)
        {
            throw new VmPsException(
                VmPsErrorIds.DiskSizeOutOfRange,
                VmPsErrorKind.InvalidArgument,
                Invariant($"A {sizeGiB} GiB disk is out of range: use 1 to {MaxDiskSizeGiB} GiB."),
                sizeGiB);
        }
    }

    /// <summary>New-Vm's and Set-Vm's CPU and memory ranges.</summary>
    public static void ValidateResources(int cpus, int memoryMiB, long hostMemoryMiB)
    {
        if (cpus < 1 || cpus > MaxCpus)
        {
            throw new VmPsException(
                VmPsErrorIds.CpuCountOutOfRange,
                VmPsErrorKind.InvalidArgument,
                Invariant($"{cpus} CPUs is out of range: this host allows 1 to {MaxCpus} ({Environment.ProcessorCount} cores)."),
                cpus);
        }

        if (memoryMiB < MinMemoryMiB || memoryMiB > hostMemoryMiB)
        {
            throw new VmPsException(
                VmPsErrorIds.MemoryOutOfRange,
                VmPsErrorKind.InvalidArgument,
                Invariant($"{memoryMiB} MiB of memory is out of range: this host allows {MinMemoryMiB} to {hostMemoryMiB} MiB."),
                memoryMiB);
        }
    }

    /// <summary>A machine type is QEMU's: it chooses QEMU, and Cloud Hypervisor (one machine, which hot-plugs) refuses it.</summary>
    public static Hypervisors.HypervisorKind HypervisorOfMachine(Hypervisors.HypervisorKind? requested) =>
        requested is null or Hypervisors.HypervisorKind.Qemu
            ? Hypervisors.HypervisorKind.Qemu
            : throw new VmPsException(
                VmPsErrorIds.MachineTypeNotSupported,
                VmPsErrorKind.InvalidArgument,
                $"-MachineType chooses a QEMU machine; {requested} has one machine type of its own.",
                requested)
            {
                RecommendedAction = "Leave out -MachineType (Cloud Hypervisor hot-plugs disks as it is), or use -Hypervisor Qemu.",
            };

    /// <summary>MemTotal from /proc/meminfo.</summary>
    public static long ReadHostMemoryMiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return kib / 1024;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*\\z")]
    private static partial Regex NamePattern();
}
