using VmPs.Core.Native;

namespace VmPs.Core.Processes;

/// <summary>
/// Named steps of multi-step operations (New-Vm, Start-Vm, Stop-Vm, Remove-Vm, ...) where a test makes this process
/// die exactly as <c>kill -9</c> would, to prove that the next call repairs whatever the dead process left behind.
/// A test sets <see cref="EnvironmentVariable"/> to one point's name in a child process's environment; everywhere
/// else (every real session) each point costs one comparison with null.
/// </summary>
internal static class CrashPoint
{
    public const string EnvironmentVariable = "VMPS_CRASH_AT";

    private const int SignalKill = 9;

    private static readonly string? Target = Environment.GetEnvironmentVariable(EnvironmentVariable);

    /// <summary>SIGKILLs this process when <paramref name="name"/> is the point named in <see cref="EnvironmentVariable"/>.</summary>
    public static void Reach(string name)
    {
        if (Target is not null && string.Equals(Target, name, StringComparison.Ordinal))
        {
            _ = Libc.kill(Environment.ProcessId, SignalKill);
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
