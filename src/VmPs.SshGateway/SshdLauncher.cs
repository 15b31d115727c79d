using System.Runtime.InteropServices;
using VmPs.SshGateway.Native;

namespace VmPs.SshGateway;

/// <summary>
/// serve: becomes the gateway's sshd. In a mount namespace of its own, the gateway directory's etc/ (holding only
/// passwd, a link to the gateway's accounts file) is laid over /etc, so sshd knows the gateway's accounts and the host
/// keeps its own; then this process (already detached and recorded by VmPs) executes sshd in the foreground.
/// </summary>
internal static class SshdLauncher
{
    private const int NewMountNamespace = 0x00020000; // CLONE_NEWNS
    private const ulong Recursive = 0x4000; // MS_REC
    private const ulong Private = 0x40000; // MS_PRIVATE

    public static int Run(string sshd, string directory)
    {
        var etc = Path.Combine(directory, "etc");
        if (Libc.unshare(NewMountNamespace) != 0)
        {
            return Fail("unshare(CLONE_NEWNS)");
        }

        // Nothing mounted here may reach the host's namespace.
        if (Libc.mount(null, "/", null, Recursive | Private, null) != 0)
        {
            return Fail("making / private");
        }

        if (Libc.mount("overlay", "/etc", "overlay", 0, $"lowerdir={Escape(etc)}:/etc") != 0)
        {
            return Fail($"laying {etc} over /etc");
        }

        Libc.execv(sshd, [sshd, "-D", "-e", "-f", Path.Combine(directory, "sshd_config"), null]);
        return Fail($"executing {sshd}");
    }

    /// <summary>overlayfs reads ':' and ',' in a lower directory's path as separators unless escaped.</summary>
    private static string Escape(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal);

    private static int Fail(string step)
    {
        Console.Error.WriteLine($"vmps-sshgw serve: {step} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return 1;
    }
}
