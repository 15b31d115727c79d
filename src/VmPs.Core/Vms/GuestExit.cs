using VmPs.Protocol;

namespace VmPs.Core.Vms;

/// <summary>How the guest's last boot ended, read from its console log.</summary>
internal sealed record GuestExit(bool PoweredOff, string? Reason, int? ExitCode, string? BootError, string Tail)
{
    public const int TailLines = 20;

    public static GuestExit Read(string consoleLogPath)
    {
        var text = ReadShared(consoleLogPath);
        var poweredOff = ConsoleMarkers.TryParsePoweroff(text, out var reason, out var exitCode);
        return new GuestExit(poweredOff, reason, exitCode, ConsoleMarkers.LastError(text), TailOf(text));
    }

    /// <summary>Why a VM stopped without powering off, with the console tail, for Crashed VMs and failed starts.</summary>
    public string DescribeCrash(string what)
    {
        var because = BootError is null ? what : $"{what} The guest reported: {BootError}";
        return Tail.Length == 0
            ? $"{because} The console log is empty."
            : $"{because}{Environment.NewLine}Last console lines:{Environment.NewLine}{Tail}";
    }

    private static string TailOf(string text)
    {
        var lines = text.TrimEnd().Split('\n').Select(line => line.TrimEnd('\r'));
        return string.Join(Environment.NewLine, lines.TakeLast(TailLines)).Trim();
    }

    /// <summary>The hypervisor may still hold the file open for writing.</summary>
    private static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }
}
