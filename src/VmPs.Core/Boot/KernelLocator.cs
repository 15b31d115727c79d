using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using VmPs.Core.Host;
using VmPs.Core.Kernels;

namespace VmPs.Core.Boot;

/// <summary>
/// Finds guest kernels: the host's newest distro kernel by default, or a user-given one whose
/// version (needed to find its modules) is read from the image itself.
/// </summary>
public static partial class KernelLocator
{
    public const string DefaultBootDirectory = "/boot";
    public const string DefaultModulesRoot = "/lib/modules";

    // x86 boot protocol: the setup header's magic "HdrS" at 0x202; at 0x20E a pointer to the
    // NUL-terminated kernel version string, relative to 0x200.
    private const int SetupHeaderMagicOffset = 0x202;
    private const int KernelVersionPointerOffset = 0x20E;
    private const int SetupSectorBase = 0x200;
    private const int MaxVersionLength = 256;
    private const string FormatUnsupportedErrorId = "KernelFormatUnsupported";

    // Xen's ELF note XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point of the kernel.
    private const string PvhNoteName = "Xen";
    private const uint PvhEntryNoteType = 18;
    private static readonly byte[] SetupHeaderMagic = "HdrS"u8.ToArray();
    private static readonly byte[] ElfMagic = [0x7F, (byte)'E', (byte)'L', (byte)'F'];
    private static readonly byte[] LinuxVersionBanner = "Linux version "u8.ToArray();

    /// <summary>
    /// The newest /boot/vmlinuz-VERSION that has /lib/modules/VERSION (a kernel without its modules
    /// cannot load the virtio drivers the guest needs), or null when there is none.
    /// </summary>
    public static KernelInfo? FindDefault(string bootDirectory = DefaultBootDirectory, string modulesRoot = DefaultModulesRoot)
    {
        if (!Directory.Exists(bootDirectory))
        {
            return null;
        }

        return Directory.EnumerateFiles(bootDirectory, "vmlinuz-*")
            .Select(path => new KernelInfo(path, Path.GetFileName(path)["vmlinuz-".Length..], null))
            .Select(kernel => kernel with { ModulesDirectory = Path.Combine(modulesRoot, kernel.Version) })
            .Where(kernel => Directory.Exists(kernel.ModulesDirectory))
            .OrderByDescending(kernel => kernel.Version, KernelVersionComparer.Instance)
            .FirstOrDefault();
    }

    /// <summary>
    /// Describes a VM's kernel: a VmPs kernel by its cache entry (the bzImage, the vmlinux, no modules); any other
    /// (-Kernel) by reading its version from the bzImage setup header (or the
    /// "Linux version" banner of an uncompressed ELF vmlinux) and finds /lib/modules/VERSION if present.
    /// </summary>
    public static async Task<KernelInfo> ResolveAsync(string kernelPath, CancellationToken cancellationToken, string modulesRoot = DefaultModulesRoot)
    {
        var fullPath = Path.GetFullPath(kernelPath);
        if (KernelCache.Describe(fullPath) is { } vmpsKernel)
        {
            return vmpsKernel.ToKernelInfo();
        }

        var version = await ReadVersionAsync(fullPath, cancellationToken).ConfigureAwait(false);
        var modulesDirectory = Path.Combine(modulesRoot, version);
        return new KernelInfo(fullPath, version, Directory.Exists(modulesDirectory) ? modulesDirectory : null);
    }

    /// <summary>The kernel release ("6.1.0-56-cloud-amd64") of a bzImage or ELF vmlinux.</summary>
    public static async Task<string> ReadVersionAsync(string kernelPath, CancellationToken cancellationToken)
    {
        await using var file = OpenKernel(kernelPath);
        var header = new byte[SetupSectorBase + 0x100];
        var headerLength = await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

        if (headerLength >= KernelVersionPointerOffset + 2 && header.AsSpan(SetupHeaderMagicOffset, 4).SequenceEqual(SetupHeaderMagic))
        {
            var pointer = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(KernelVersionPointerOffset));
            file.Seek(pointer + SetupSectorBase, SeekOrigin.Begin);
            var text = new byte[MaxVersionLength];
            var length = await file.ReadAtLeastAsync(text, text.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return FirstWord(text.AsSpan(0, length), kernelPath);
        }

        if (headerLength >= 4 && header.AsSpan(0, 4).SequenceEqual(ElfMagic))
        {
            EnsureBootableVmlinux(file, kernelPath);
            file.Seek(0, SeekOrigin.Begin);
            return await ReadElfBannerVersionAsync(file, kernelPath, cancellationToken).ConfigureAwait(false);
        }

        throw NotAKernel(kernelPath, "it is neither a bzImage (no 'HdrS' boot header at 0x202) nor an ELF vmlinux");
    }

    /// <summary>
    /// QEMU and Cloud Hypervisor boot an uncompressed x86-64 vmlinux only through its PVH entry point, which the
    /// kernel announces in an ELF note (CONFIG_PVH); without it both refuse the kernel at start.
    /// </summary>
    private static void EnsureBootableVmlinux(Stream file, string kernelPath)
    {
        var elf = ElfFile.Read(file) ?? throw NotAKernel(kernelPath, "it is not a well-formed 64-bit little-endian ELF file");
        if (elf.Machine != ElfFile.MachineX86_64)
        {
            throw NotAKernel(kernelPath, $"the ELF vmlinux is for machine {elf.Machine}, not x86-64 ({ElfFile.MachineX86_64})");
        }

        if (!elf.HasNote(PvhNoteName, PvhEntryNoteType))
        {
            throw NotAKernel(kernelPath, "the ELF vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, built with CONFIG_PVH), which QEMU and Cloud Hypervisor need to boot it; use its bzImage (vmlinuz) instead");
        }
    }

    private static FileStream OpenKernel(string kernelPath)
    {
        try
        {
            return new FileStream(kernelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
        }
        catch (FileNotFoundException ex)
        {
            throw new VmPsException(VmPsErrorIds.KernelNotFound, VmPsErrorKind.ObjectNotFound, $"Kernel '{kernelPath}' does not exist.", kernelPath, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new VmPsException(VmPsErrorIds.KernelNotFound, VmPsErrorKind.ObjectNotFound, $"Kernel '{kernelPath}' does not exist.", kernelPath, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw KernelNotReadable(kernelPath, ex);
        }
    }

    internal static VmPsException KernelNotReadable(string kernelPath, Exception? inner = null) =>
        new(VmPsErrorIds.KernelNotReadable, VmPsErrorKind.PermissionDenied, $"Kernel '{kernelPath}' is not readable by this user (Ubuntu installs kernels with mode 0600).", kernelPath, inner)
        {
            RecommendedAction = $"Run as root, make it readable (sudo chmod 0644 {kernelPath}), or pass a readable kernel with -Kernel.",
        };

    private static async Task<string> ReadElfBannerVersionAsync(FileStream file, string kernelPath, CancellationToken cancellationToken)
    {
        // The banner "Linux version X (builder) ..." sits in .rodata; the tail of each read is carried
        // over so a banner split across two reads is still found.
        var buffer = new byte[1 << 20];
        var carried = 0;
        while (true)
        {
            var read = await file.ReadAsync(buffer.AsMemory(carried), cancellationToken).ConfigureAwait(false);
            var filled = carried + read;
            var index = buffer.AsSpan(0, filled).IndexOf(LinuxVersionBanner);
            if (index >= 0 && (filled - index >= LinuxVersionBanner.Length + MaxVersionLength || read == 0))
            {
                var start = index + LinuxVersionBanner.Length;
                return FirstWord(buffer.AsSpan(start, Math.Min(MaxVersionLength, filled - start)), kernelPath);
            }

            if (read == 0)
            {
                throw UnsupportedFormat(kernelPath, "the ELF image has no 'Linux version' banner");
            }

            var keepFrom = index >= 0 ? index : Math.Max(0, filled - LinuxVersionBanner.Length);
            carried = filled - keepFrom;
            buffer.AsSpan(keepFrom, carried).CopyTo(buffer);
        }
    }

    private static string FirstWord(ReadOnlySpan<byte> text, string kernelPath)
    {
        var end = text.IndexOfAny((byte)0, (byte)' ');
        var version = Encoding.ASCII.GetString(end >= 0 ? text[..end] : text);
        return ReleasePattern().IsMatch(version) ? version : throw UnsupportedFormat(kernelPath, $"its version string '{version}' is not a kernel release");
    }

    private static VmPsException UnsupportedFormat(string kernelPath, string why) =>
        new(FormatUnsupportedErrorId, VmPsErrorKind.InvalidData, $"Cannot read the kernel version of '{kernelPath}': {why}.", kernelPath);

    private static VmPsException NotAKernel(string kernelPath, string why) =>
        new(FormatUnsupportedErrorId, VmPsErrorKind.InvalidData, $"'{kernelPath}' is not a bootable x86-64 Linux kernel: {why}.", kernelPath)
        {
            RecommendedAction = "Pass a kernel image such as /boot/vmlinuz-VERSION with -Kernel.",
        };

    [GeneratedRegex(@"^\d+\.\d+[\w.+~-]*\z")]
    private static partial Regex ReleasePattern();
}

/// <summary>Orders kernel releases numerically part by part: 6.1.0-10 after 6.1.0-9.</summary>
internal sealed partial class KernelVersionComparer : IComparer<string>
{
    public static KernelVersionComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        var left = Parts().Split(x ?? string.Empty);
        var right = Parts().Split(y ?? string.Empty);
        for (var i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            var result = ulong.TryParse(left[i], out var a) && ulong.TryParse(right[i], out var b)
                ? a.CompareTo(b)
                : string.CompareOrdinal(left[i], right[i]);
            if (result != 0)
            {
                return result;
            }
        }

        return left.Length.CompareTo(right.Length);
    }

    [GeneratedRegex(@"(\d+)")]
    private static partial Regex Parts();
}
