#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of Start-/Stop-/Get-VmSshGateway with Debian's real sshd on a free port of 127.0.0.1 and the real ssh
# client (a key made by ssh-keygen, the gateway's host key pinned). No VM is booted: command mode lists nothing.

BeforeDiscovery {
    $CannotGateway = -not ((id -u) -eq 0 -and (Test-Path /usr/sbin/sshd) -and (Get-Command ssh -ErrorAction Ignore) -and (Get-Command ssh-keygen -ErrorAction Ignore))
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose sshgw
    # sshd refuses a program under a folder others may write (a clone under /tmp): run a copy in root's /run.
    $script:ProgramCopy = "/run/vmps-tests-sshgw-pester-$PID"
    Copy-Item -Recurse -Path (Join-Path (Get-Module VmPs).ModuleBase 'bin/sshgw') -Destination $ProgramCopy
    $env:VMPS_SSHGW_PROGRAM = Join-Path $ProgramCopy 'vmps-sshgw'
    $script:Keys = Join-Path $StateDirectory 'client'
    New-Item -ItemType Directory -Path $Keys -Force | Out-Null

    function script:Get-FreePort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
}

AfterAll {
    Stop-VmSshGateway -ErrorAction SilentlyContinue
    Clear-VmPsTestState
    Remove-Item Env:VMPS_SSHGW_PROGRAM -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $ProgramCopy -ErrorAction SilentlyContinue
}

Describe 'Start-VmSshGateway' -Skip:$CannotGateway {
    It 'starts sshd, whose host key ssh pins, and lets a user''s key run a command' {
        ssh-keygen -q -t ed25519 -N '' -C alice -f (Join-Path $Keys alice)
        $null = New-VmUser -Name alice -Email alice@example.test -SshPublicKey (Get-Content (Join-Path $Keys alice.pub))
        $port = Get-FreePort

        $gateway = Start-VmSshGateway -Port $port -ListenAddress 127.0.0.1

        $gateway.Status | Should -Be Running
        $gateway.Port | Should -Be $port
        $gateway.HostKeyFingerprint | Should -BeLike 'SHA256:*'
        "[127.0.0.1]:$port $($gateway.HostPublicKey)" | Set-Content (Join-Path $Keys known_hosts)
        $out = ssh -F /dev/null -p $port -i (Join-Path $Keys alice) -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes `
            -o "UserKnownHostsFile=$(Join-Path $Keys known_hosts)" vmps@127.0.0.1 ls --json
        $LASTEXITCODE | Should -Be 0
        ($out -join '').Trim() | Should -Be '[]'
    }

    It 'fits its view in 80 columns' {
        $lines = Get-VmSshGateway | Format-Table | Out-String -Width 200 -Stream | Where-Object { $_.Trim() }
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It 'refuses a port another program listens on, keeping the gateway that runs' {
        $taken = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $taken.Start()
        try {
            $before = Get-VmSshGateway
            $errors = Get-VmError { Start-VmSshGateway -Port $taken.LocalEndpoint.Port -ListenAddress 127.0.0.1 }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'SshGatewayPortInUse,*'
            (Get-VmSshGateway).ProcessId | Should -Be $before.ProcessId
        }
        finally { $taken.Stop() }
    }

    It 'refuses an address that is no IP address' {
        $errors = Get-VmError { Start-VmSshGateway -ListenAddress 'example.test' }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSshGatewayAddress,*'
    }

    It 'changes nothing with -WhatIf' {
        $before = Get-VmSshGateway
        Start-VmSshGateway -Port (Get-FreePort) -ListenAddress 127.0.0.1 -WhatIf
        (Get-VmSshGateway).Port | Should -Be $before.Port
    }
}

Describe 'Stop-VmSshGateway' -Skip:$CannotGateway {
    It 'ends sshd, and no later call starts it again' {
        $stopped = Stop-VmSshGateway -PassThru
        $stopped.Status | Should -Be Stopped
        (Get-VmSshGateway).Status | Should -Be Stopped
    }
}
