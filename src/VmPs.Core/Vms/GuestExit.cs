using VmPs.Core.Hypervisors;
using VmPs.Core.Logs;
using VmPs.Core.Storage;
using VmPs.Protocol;

namespace VmPs.Core.Vms;

/// <summary>
/// How the guest's last boot ended: from VmPs's init, its poweroff marker with the exit code in the console log; from
/// any guest (an installer, a disk image), the hypervisor's own record that the guest powered off (see HypervisorExit).
/// </summary>
internal sealed record GuestExit(bool PoweredOff, string? Reason, int? ExitCode, string? BootError, string Tail, string? HypervisorRecord = null)
{
    public const int TailLines = 20;

    /// <summary>How much of the console log's end is read (the guest's last words; the log is the guest's to fill).</summary>
    public const int MaxReadBytes = LogTail.MaxBytes;

    /// <summary>A tail line longer than this is cut: the tail goes into error messages.</summary>
    public const int MaxTailLineChars = 400;

    /// <param name="hypervisor">The VM's hypervisor, whose own log of the run is read.</param>
    public static GuestExit Read(VmFiles files, HypervisorKind hypervisor)
    {
        var text = LogTail.ReadText(files.ConsoleLog);
        var recorded = HypervisorExit.Read(hypervisor, files.Directory);
        var poweredOff = ConsoleMarkers.TryParsePoweroff(text, out var reason, out var exitCode) || recorded.GuestPoweredOff;
        return new GuestExit(poweredOff, reason, exitCode, ConsoleMarkers.LastError(text), TailOf(text), recorded.Description);
    }

    /// <summary>Why a VM stopped without powering off, with the console tail, for Crashed VMs and failed starts.</summary>
    public string DescribeCrash(string what)
    {
        var recorded = HypervisorRecord is null ? what : $"{what} {HypervisorRecord}";
        var because = BootError is null ? recorded : $"{recorded} The guest reported: {BootError}";
        return Tail.Length == 0
            ? $"{because} The console log is empty."
            : $"{because}{Environment.NewLine}Last console lines:{Environment.NewLine}{Tail}";
    }

    private static string TailOf(string text)
    {
        var lines = text.TrimEnd().Split('\n').Select(line => TerminalText.Sanitize(line.Length > MaxTailLineChars ? line[..MaxTailLineChars] : line));
        return string.Join(Environment.NewLine, lines.TakeLast(TailLines)).Trim();
    }
}
