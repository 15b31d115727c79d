namespace VmPs.Guest.Init;

/// <summary>
/// Why the VM is going down, and the app's exit code when that is the reason. <see cref="Force"/>: the programs are
/// killed at once instead of after SIGTERM and a grace period (Stop-Vm -Force).
/// </summary>
internal sealed record PowerRequest(string Reason, int? ExitCode, bool Reboot, bool Force = false);
