namespace VmPs.Guest.Init;

/// <summary>Why the VM is going down, and the app's exit code when that is the reason.</summary>
internal sealed record PowerRequest(string Reason, int? ExitCode, bool Reboot);
