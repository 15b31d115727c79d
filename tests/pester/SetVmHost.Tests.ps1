#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of Set-VmHost -StorageBackend and Get-VmHost's Storage, against the built module folder. LvmThin is
# checked as far as a host lets it be: the name rules everywhere, the device-mapper refusal where the kernel has none.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose vmhost
    $script:DeviceMapper = (Test-Path /dev/mapper/control) -and ((Test-Path /sys/class/misc/device-mapper) -or (Select-String -Quiet -Path /proc/misc -Pattern '\bdevice-mapper$'))

    # The terminating error a Set-VmHost call ends with (it changes one host: it has no per-target errors).
    function Get-SetVmHostError([hashtable] $Arguments) {
        try { Set-VmHost @Arguments -ErrorAction Stop; $null } catch { $_ }
    }
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Set-VmHost -StorageBackend' {
    It 'a fresh host stores volumes as files, and Get-VmHost shows it' {
        $report = Get-VmHost
        $report.Storage.Backend | Should -Be 'File'
        ($report | Format-List | Out-String -Width 80) | Should -Match 'Storage\s+: File \(sparse files in the state directory\)'
    }

    It 'refuses a bad name by LVM''s rules before anything else (<Why>)' -ForEach @(
        @{ Why = 'hyphen first'; Arguments = @{ VolumeGroup = '-vg'; ThinPool = 'pool' } }
        @{ Why = 'a slash'; Arguments = @{ VolumeGroup = 'vg0'; ThinPool = 'vg/pool' } }
        @{ Why = 'reserved pool name'; Arguments = @{ VolumeGroup = 'vg0'; ThinPool = 'snapshot' } }
        @{ Why = 'internal suffix'; Arguments = @{ VolumeGroup = 'vg0'; ThinPool = 'pool_tmeta' } }
    ) {
        $record = Get-SetVmHostError (@{ StorageBackend = 'LvmThin' } + $Arguments)
        $record.FullyQualifiedErrorId | Should -Be 'InvalidLvmName,VmPs.PowerShell.Commands.SetVmHostCommand'
        $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        (Get-VmHost).Storage.Backend | Should -Be 'File'
    }

    It 'LvmThin needs both the volume group and the pool; File takes neither' {
        (Get-SetVmHostError @{ StorageBackend = 'LvmThin'; VolumeGroup = 'vg0' }).FullyQualifiedErrorId | Should -BeLike 'StorageSettingsInvalid,*'
        (Get-SetVmHostError @{ StorageBackend = 'File'; ThinPool = 'pool' }).FullyQualifiedErrorId | Should -BeLike 'StorageSettingsInvalid,*'
    }

    It 'refuses LvmThin on a kernel without device-mapper, saying what it checked, and keeps File' -Skip:$DeviceMapper {
        $record = Get-SetVmHostError @{ StorageBackend = 'LvmThin'; VolumeGroup = 'vg0'; ThinPool = 'pool' }
        $record.FullyQualifiedErrorId | Should -Be 'DeviceMapperUnavailable,VmPs.PowerShell.Commands.SetVmHostCommand'
        $record.CategoryInfo.Category | Should -Be 'NotInstalled'
        $record.Exception.Message | Should -BeLike '*device-mapper unavailable*'
        $record.Exception.Message | Should -BeLike '*/dev/mapper/control*/sys/class/misc/device-mapper*/proc/misc*'
        $record.ErrorDetails.RecommendedAction | Should -BeLike '*modprobe dm_thin_pool*'
        (Get-VmHost).Storage.Backend | Should -Be 'File'
        # -WhatIf runs the same checks: it says the host cannot, rather than what it would do.
        (Get-SetVmHostError @{ StorageBackend = 'LvmThin'; VolumeGroup = 'vg0'; ThinPool = 'pool'; WhatIf = $true }).FullyQualifiedErrorId | Should -BeLike 'DeviceMapperUnavailable,*'
    }

    It 'Set-VmHost -StorageBackend File -PassThru outputs the host object; -WhatIf outputs nothing' {
        Set-VmHost -StorageBackend File -WhatIf | Should -BeNullOrEmpty
        $report = Set-VmHost -StorageBackend File -PassThru
        $report.PSObject.TypeNames | Should -Contain 'VmPs.VmHost'
        $report.Storage.Backend | Should -Be 'File'
        $report.Storage.VolumeGroup | Should -BeNullOrEmpty
    }
}
