#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the network cmdlets (New-VmNetwork, Get-VmNetwork, Repair-VmNetwork, Remove-VmNetwork and
# the port mapping cmdlets), run against the built module folder. Everything happens in a network namespace of the test's own,
# chosen with VMPS_NETNS; without root (or ip and nft) the tests skip.

BeforeDiscovery {
    $CannotNetwork = -not ((id -u) -eq 0 -and (Get-Command ip -ErrorAction Ignore) -and (Get-Command nft -ErrorAction Ignore))
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-network-$([guid]::NewGuid().ToString('n'))"
    $script:Namespace = 'vmpst-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    $env:VMPS_HOME = $StateDirectory
    $env:VMPS_NETNS = $Namespace
    if ((id -u) -eq 0 -and (Get-Command ip -ErrorAction Ignore)) {
        ip netns add $Namespace
    }
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop

    function script:Get-VmError([scriptblock] $Action) {
        & $Action 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
    }

    function script:Get-LinkName {
        (ip -n $Namespace -j link | ConvertFrom-Json).ifname
    }

    function script:Get-Ruleset {
        (ip netns exec $Namespace nft list ruleset) -join "`n"
    }

    # What -WhatIf writes goes to the host, not to a stream: a child pwsh prints it on its stdout.
    function script:Invoke-WhatIf([string] $Command) {
        $module = Join-Path $RepoRoot 'out/VmPs'
        # The pwsh running the tests (the process is dotnet when pwsh is a .NET global tool, and its folder may not be on PATH).
        & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "Import-Module '$module'; $Command" 2>&1 | Out-String -Width 500
    }
}

AfterAll {
    Get-VmNetwork -ErrorAction SilentlyContinue | Remove-VmNetwork -Force -Confirm:$false -ErrorAction SilentlyContinue
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module VmPs -ErrorAction SilentlyContinue
    if ((id -u) -eq 0 -and (Get-Command ip -ErrorAction Ignore)) {
        ip netns del $Namespace
    }
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME, Env:VMPS_NETNS
}

Describe 'VM networks' -Skip:$CannotNetwork {
    It 'New-VmNetwork -WhatIf creates nothing' {
        New-VmNetwork -Name ghost -Subnet 10.120.0.0/24 -WhatIf
        Get-VmNetwork | Should -BeNullOrEmpty
        Get-LinkName | Should -Not -Match '^vmpsbr-'
    }

    It 'New-VmNetwork creates a bridge in the namespace and outputs the network' {
        $network = New-VmNetwork -Name lab -Subnet 10.121.0.0/24 -Dns 9.9.9.9
        $network.PSObject.TypeNames[0] | Should -Be 'VmPs.VmNetwork'
        $network.Gateway | Should -Be '10.121.0.1'
        $network.Nat | Should -BeTrue
        $network.Dns | Should -Be @('9.9.9.9')
        $network.FreeAddresses | Should -Be 253
        Get-LinkName | Should -Contain $network.Bridge
        (ip netns exec $Namespace nft list table inet vmps) -join "`n" | Should -Match 'vmps:lab:masquerade'
    }

    It 'New-VmNetwork -NoNat -Isolated makes a host-only isolated network' {
        $network = New-VmNetwork backend 10.122.0.0/24 -NoNat -Isolated
        $network.Nat | Should -BeFalse
        $network.Isolated | Should -BeTrue
    }

    It 'Get-VmNetwork takes wildcards and shows the documented columns in 80 columns' {
        (Get-VmNetwork -Name l*).Name | Should -Be 'lab'
        (Get-VmNetwork).Count | Should -Be 2
        $table = Get-VmNetwork lab | Format-Table | Out-String -Width 250
        foreach ($column in 'Name', 'Subnet', 'Gateway', 'Nat', 'Uplink', 'VmCount', 'Status') {
            $table | Should -Match $column
        }
        $table -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 } | Should -BeNullOrEmpty
        (Get-VmNetwork lab).Status | Should -Be 'Healthy'
        (Get-VmNetwork lab).Problems | Should -BeNullOrEmpty
    }

    It 'Get-VmNetwork, Get-Vm and Get-VmNetworkAdapter report a bridge deleted behind its back and change nothing' {
        $null = New-Vm -Name netvm -Network lab
        $bridge = (Get-VmNetwork lab).Bridge
        ip -n $Namespace link del $bridge
        $links = Get-LinkName
        $rules = Get-Ruleset

        $network = Get-VmNetwork lab
        $vm = Get-Vm netvm
        $adapter = Get-VmNetworkAdapter netvm
        Get-VmNetwork | Out-Null

        $network.Status | Should -Be 'Degraded'
        $network.Problems | Should -Contain "bridge $bridge is missing"
        $vm.NetworkStatus | Should -Be 'Unplugged'
        $adapter.Status | Should -Be 'Unplugged'
        Get-LinkName | Should -Be $links
        Get-Ruleset | Should -Be $rules
    }

    It 'Repair-VmNetwork -WhatIf lists the repairs it would make and changes nothing' {
        $bridge = (Get-VmNetwork lab).Bridge
        $links = Get-LinkName

        $text = Invoke-WhatIf 'Repair-VmNetwork -WhatIf'

        $text | Should -Match ([regex]::Escape("What if: Performing the operation ""Repair VM network: create bridge $bridge with 10.121.0.1/24"))
        $text | Should -Match 'on target "lab"'
        $text | Should -Not -Match 'backend'
        Get-LinkName | Should -Be $links
        (Get-VmNetwork lab).Status | Should -Be 'Degraded'
    }

    It 'Repair-VmNetwork repairs, says what it did with -Verbose and outputs the network with -PassThru' {
        $bridge = (Get-VmNetwork lab).Bridge

        $output = Repair-VmNetwork -Name lab -PassThru -Verbose 4>&1
        $verbose = $output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $network = $output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        $verbose.Message | Should -Contain "VM network 'lab': create bridge $bridge with 10.121.0.1/24."
        $network.PSObject.TypeNames[0] | Should -Be 'VmPs.VmNetwork'
        $network.Status | Should -Be 'Healthy'
        Get-LinkName | Should -Contain $bridge
        (ip -n $Namespace -4 -o addr show dev $bridge) -join "`n" | Should -Match '10\.121\.0\.1/24'
    }

    It 'Get-VmNetwork | Repair-VmNetwork takes network objects and leaves healthy networks alone' {
        $rules = Get-Ruleset
        $networks = Get-VmNetwork | Repair-VmNetwork -PassThru
        $networks.Name | Should -Be @('backend', 'lab')
        $networks.Status | Should -Be @('Healthy', 'Healthy')
        Get-Ruleset | Should -Be $rules
        Remove-Vm netvm -Confirm:$false
    }

    It 'Repair-VmNetwork of an unknown network is a non-terminating NetworkNotFound error' {
        $errors = Get-VmError { Repair-VmNetwork -Name nosuchnet }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'NetworkNotFound,VmPs.PowerShell.Commands.RepairVmNetworkCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'an unknown network name is a non-terminating ObjectNotFound error' {
        $errors = Get-VmError { Get-VmNetwork -Name nosuchnet }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'NetworkNotFound,VmPs.PowerShell.Commands.GetVmNetworkCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be 'nosuchnet'
    }

    It 'an overlapping subnet is refused with a free one suggested' {
        $errors = Get-VmError { New-VmNetwork -Name clash -Subnet 10.121.0.0/16 }
        $errors[0].FullyQualifiedErrorId | Should -Be 'SubnetConflict,VmPs.PowerShell.Commands.NewVmNetworkCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $errors[0].ErrorDetails.RecommendedAction | Should -Match '-Subnet 10\.\d+\.0\.0/16'
    }

    It 'a malformed subnet is InvalidArgument' {
        $errors = Get-VmError { New-VmNetwork -Name bad -Subnet 10.123.0.1/24 }
        $errors[0].FullyQualifiedErrorId | Should -Be 'InvalidSubnet,VmPs.PowerShell.Commands.NewVmNetworkCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'completes network names' {
        $completion = TabExpansion2 -inputScript 'Get-VmNetwork la' -cursorColumn 'Get-VmNetwork la'.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'lab'
        $completion = TabExpansion2 -inputScript 'Remove-VmNetwork ' -cursorColumn 'Remove-VmNetwork '.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'default'
    }

    It 'Remove-VmNetwork removes piped networks and leaves no interface or rule' {
        Get-VmNetwork | Remove-VmNetwork -Confirm:$false
        Get-VmNetwork | Should -BeNullOrEmpty
        Get-LinkName | Should -Not -Match '^vmpsbr-'
        (ip netns exec $Namespace nft list ruleset) -join "`n" | Should -Not -Match 'vmps'
    }
}

Describe 'Port mappings' -Skip:$CannotNetwork {
    It 'Get-VmPortMapping lists nothing when no port is published' {
        Get-VmPortMapping | Should -BeNullOrEmpty
    }

    It 'Add-VmPortMapping of an unknown VM is VmNotFound' {
        $errors = Get-VmError { Add-VmPortMapping -VmName nosuchvm -HostPort 8080 -VmPort 80 }
        $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.AddVmPortMappingCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'Remove-VmPortMapping of an unknown VM is VmNotFound' {
        $errors = Get-VmError { Remove-VmPortMapping -VmName nosuchvm -HostPort 8080 -Confirm:$false }
        $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.RemoveVmPortMappingCommand'
    }

    It 'rejects a port out of range before calling anything' {
        { Add-VmPortMapping -VmName web -HostPort 70000 -VmPort 80 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,VmPs.PowerShell.Commands.AddVmPortMappingCommand'
    }
}
