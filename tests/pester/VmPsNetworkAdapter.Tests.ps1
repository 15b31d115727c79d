#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of New-Vm's network parameters and Get-VmNetworkAdapter that need no network namespace
# (VMs on networks are tested end to end in tests/VmPs.Tests/Core/Network/VmNetworkingTests.cs).

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop

    function script:Get-VmError([scriptblock] $Action) {
        & $Action 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
    }
}

AfterAll {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module VmPs -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME
}

Describe 'New-Vm -Publish' {
    It 'refuses <Value> with InvalidPublishedPort and creates nothing' -ForEach @(
        @{ Value = '80' }
        @{ Value = 'web:80' }
        @{ Value = '8080:80/sctp' }
        @{ Value = 'localhost:8080:80' }
    ) {
        $errors = Get-VmError { New-Vm -Name published -Publish $Value }

        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'InvalidPublishedPort,VmPs.PowerShell.Commands.NewVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].Exception.Message | Should -Match 'HOSTPORT:VMPORT'
        Get-Vm -Name published -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Get-VmNetworkAdapter' {
    BeforeAll {
        $script:Plain = New-Vm -Name plain
    }

    It 'outputs nothing for a VM created without a network, whose IPAddress and Network are empty' {
        $Plain.IPAddress | Should -BeNullOrEmpty
        $Plain.Network | Should -BeNullOrEmpty
        Get-VmNetworkAdapter -VmName plain | Should -BeNullOrEmpty
        $Plain | Get-VmNetworkAdapter | Should -BeNullOrEmpty
    }

    It 'names a missing VM (VmNotFound)' {
        $errors = Get-VmError { Get-VmNetworkAdapter -VmName no-such-vm }

        $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.GetVmNetworkAdapterCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'has a table view and help for every parameter' {
        Get-FormatData -TypeName VmPs.Core.Network.NetworkAdapterInfo | Should -Not -BeNullOrEmpty
        $help = Get-Help Get-VmNetworkAdapter -Full
        $help.Synopsis | Should -Match 'network adapters'
        ($help.parameters.parameter | Where-Object { -not $_.description }).name | Should -BeNullOrEmpty
    }
}
