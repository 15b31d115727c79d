namespace VmPs.Guest.Processes;

/// <summary>How a child ended: an exit code, or the signal that killed it.</summary>
internal readonly record struct ChildExit(int? ExitCode, int? Signal)
{
    public static ChildExit FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new ChildExit((status >> 8) & 0xff, null) : new ChildExit(null, status & 0x7f);

    /// <summary>The shell's convention: the exit code, or 128 + signal.</summary>
    public int ShellExitCode => ExitCode ?? 128 + (Signal ?? 0);
}
