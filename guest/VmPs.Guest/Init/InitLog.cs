using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>The structured init log: one <see cref="InitLogRecord"/> per console line, read by the host (Get-VmLog -Source Init).</summary>
internal static class InitLog
{
    public static void Info(string phase, string message) => Write(InitLogLevels.Info, phase, message, null);

    public static void Warning(string phase, string message, string? error = null) => Write(InitLogLevels.Warning, phase, message, error);

    public static void Error(string phase, string message, string error) => Write(InitLogLevels.Error, phase, message, error);

    private static void Write(string level, string phase, string message, string? error) =>
        BootConsole.WriteLine(new InitLogRecord(DateTimeOffset.UtcNow, level, phase, message, error).ToConsoleLine());
}
