namespace VmPs.Core.SshGateway;

/// <summary>The user-facing errors of the SSH gateway, each with its stable ErrorId.</summary>
internal static class SshGatewayErrors
{
    public static VmPsException SshdMissing(string path) => new(
        VmPsErrorIds.SshdNotFound,
        VmPsErrorKind.NotInstalled,
        $"The SSH gateway runs OpenSSH's sshd, and '{path}' does not exist.",
        path)
    {
        RecommendedAction = "Install Debian's 'openssh-server' package (apt-get install openssh-server). The gateway runs its own sshd with its own configuration; the system's ssh service need not run.",
    };

    public static VmPsException NeedsRoot() => new(
        VmPsErrorIds.SshGatewayNeedsRoot,
        VmPsErrorKind.PermissionDenied,
        "The SSH gateway needs root: sshd switches to the gateway's accounts and runs in a mount namespace of its own.",
        null)
    {
        RecommendedAction = "Run Start-VmSshGateway as root (the VMs' state directory is then /var/lib/vmps or $VMPS_HOME).",
    };

    public static VmPsException InvalidAddress(string address) => new(
        VmPsErrorIds.InvalidSshGatewayAddress,
        VmPsErrorKind.InvalidArgument,
        $"'{address}' is not an IP address the SSH gateway can listen on.",
        address)
    {
        RecommendedAction = "Give an IPv4 or IPv6 address of this host, such as 127.0.0.1 or 0.0.0.0 (every IPv4 address).",
    };

    public static VmPsException PortInUse(string address, int port, string detail) => new(
        VmPsErrorIds.SshGatewayPortInUse,
        VmPsErrorKind.ResourceUnavailable,
        $"The SSH gateway cannot listen on {address} port {port}: {detail}. Nothing was started.",
        port)
    {
        RecommendedAction = "Choose another -Port, or stop the program that listens there (ss -ltnp shows it).",
    };

    public static VmPsException Failed(string reason, string log) => new(
        VmPsErrorIds.SshGatewayFailed,
        VmPsErrorKind.InvalidOperation,
        $"The SSH gateway's sshd did not start: {reason}.",
        log)
    {
        RecommendedAction = $"Read sshd's log, {log}, for the cause.",
    };

    public static VmPsException ProgramMissing(string path) => new(
        VmPsErrorIds.SshGatewayProgramNotFound,
        VmPsErrorKind.NotInstalled,
        $"The SSH gateway program was not found at '{path}'.",
        path)
    {
        RecommendedAction = "Build the module again (dotnet build puts it in bin/sshgw of the module folder).",
    };

    public static VmPsException ProgramUnsafe(string path, string why) => new(
        VmPsErrorIds.SshGatewayProgramUnsafe,
        VmPsErrorKind.PermissionDenied,
        $"sshd would refuse to run the SSH gateway program as root: {why}.",
        path)
    {
        RecommendedAction = "Install the module where only root can change it (owned by root, no group or other write access up to /), such as under /usr/local/share/powershell/Modules.",
    };

    public static VmPsException NotOwner(string vm, string? owner, string action) => new(
        VmPsErrorIds.VmNotOwned,
        VmPsErrorKind.PermissionDenied,
        $"VM '{vm}' was shared with you; only its owner{(owner is null ? "" : $" ({owner})")} can {action} it.",
        vm)
    {
        RecommendedAction = "Ask the VM's owner.",
    };
}
