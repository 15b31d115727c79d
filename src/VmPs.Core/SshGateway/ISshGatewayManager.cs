namespace VmPs.Core.SshGateway;

/// <summary>The operations behind Start-/Stop-/Get-VmSshGateway. <see cref="SshGatewayManager"/> is the real one.</summary>
public interface ISshGatewayManager
{
    /// <summary>Starts the gateway (or restarts it with new settings); PortInUse, SshdNotFound... when it cannot.</summary>
    Task<SshGatewayInfo> StartAsync(SshGatewayStartOptions options, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="StartAsync"/> that changes nothing (Start-VmSshGateway -WhatIf).</summary>
    void ValidateStart(SshGatewayStartOptions options);

    Task<SshGatewayInfo> StopAsync(CancellationToken cancellationToken);

    /// <summary>The gateway as it is, started again first when it died since it was started.</summary>
    Task<SshGatewayInfo> GetAsync(CancellationToken cancellationToken);

    /// <summary>Gives sshd the current VM names as accounts, when the gateway is in use (VmManager calls it after a VM is made or removed).</summary>
    Task RefreshAccountsAsync(CancellationToken cancellationToken);
}
