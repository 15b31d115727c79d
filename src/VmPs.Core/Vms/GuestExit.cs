using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Logs;
using VmPs.Core.Storage;
using VmPs.Protocol;
using VmPs.Protocol.Logs;

namespace VmPs.Core.Vms;

/// <summary>
/// How the guest's last boot ended: from VmPs's init, its poweroff marker with the exit code in the console log; from
/// any guest (an installer, a disk image), QEMU's record that the guest powered off (see QemuEventLog).
/// </summary>
internal sealed record GuestExit(bool PoweredOff, string? Reason, int? ExitCode, string? BootError, string Tail, string? HypervisorReason = null)
{
    public const int TailLines = 20;

    /// <summary>How much of the console log's end is read: 64 KiB.</summary>
    public const int MaxReadBytes = 64 * 1024;

    /// <summary>A tail line longer than this is cut: the tail goes into error messages.</summary>
    public const int MaxTailLineChars = 400;

    public static GuestExit Read(VmFiles files)
    {
        var text = ReadEnd(files.ConsoleLog);
        var hypervisorReason = QemuEventLog.ShutdownReason(ReadEnd(QemuEventLog.LogPath(files.Directory)));
        var poweredOff = ConsoleMarkers.TryParsePoweroff(text, out var reason, out var exitCode) || hypervisorReason == QemuEventLog.GuestShutdownReason;
        return new GuestExit(poweredOff, reason, exitCode, ConsoleMarkers.LastError(text), TailOf(text), hypervisorReason);
    }

    /// <summary>Why a VM stopped without powering off, with the console tail, for Crashed VMs and failed starts.</summary>
    public string DescribeCrash(string what)
    {
        var recorded = HypervisorReason is null ? what : $"{what} QEMU recorded its shutdown as {HypervisorReason}.";
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

    /// <summary>
    /// The end of the log, at most <see cref="MaxReadBytes"/>: the markers and the tail are the guest's last words, and
    /// the log is the guest's to fill. The hypervisor may still hold the file open for writing. A current file shorter
    /// than that is completed from the end of the rotated one (see RotatingLogFile).
    /// </summary>
    private static string ReadEnd(string path)
    {
        var current = ReadEnd(path, MaxReadBytes);
        var earlier = current.Length < MaxReadBytes ? ReadEnd(RotatingLogFile.RotatedPath(path), MaxReadBytes - current.Length) : [];
        return System.Text.Encoding.UTF8.GetString([.. earlier, .. current]);
    }

    private static byte[] ReadEnd(string path, int count)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Max(0, stream.Length - count), SeekOrigin.Begin);
            var buffer = new byte[count];
            var length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return buffer[..length];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}
