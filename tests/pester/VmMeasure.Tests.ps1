#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Measure-Vm as a user runs it, on one busybox VM (QEMU): figures that move with work in the guest, the view, errors.

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose measure
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Measure-Vm' {
    It 'has help for every parameter and an example, and completes VM names' {
        $help = Get-Help Measure-Vm -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        foreach ($name in 'Name', 'InputObject') {
            ($help.parameters.parameter | Where-Object name -EQ $name).description.Text | Should -Not -BeNullOrEmpty -Because "-$name needs help"
        }
        @($help.examples.example).Count | Should -BeGreaterThan 0
        (Get-Command Measure-Vm).Parameters['Name'].Attributes.TypeId.Name | Should -Contain 'ArgumentCompleterAttribute'
    }

    It 'names a missing VM with VmNotFound' {
        $errors = Get-VmError { Measure-Vm no-such-vm }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
        $errors[0].TargetObject | Should -Be 'no-such-vm'
    }

    Context 'with a real VM' -Skip:$NoQemu {
        BeforeAll {
            New-Vm -Name meter -Image busybox -MemoryMB 256 | Start-Vm
        }

        It 'reports CPU, hypervisor and guest memory, disk bytes and uptime that move with work in the guest' {
            $first = Measure-Vm meter
            $first | Should -BeOfType ([VmPs.Core.Metering.VmMeasurement])
            $first.VmName | Should -Be 'meter'
            $first.State | Should -Be 'Running'
            $first.HypervisorMemoryBytes | Should -BeGreaterThan 16MB
            $first.GuestMemoryTotalBytes | Should -BeGreaterThan 128MB
            $first.GuestMemoryTotalBytes | Should -BeLessOrEqual 256MB
            $first.GuestMemoryAvailableBytes | Should -BeLessOrEqual $first.GuestMemoryTotalBytes
            $first.NetworkReceivedBytes | Should -BeNullOrEmpty -Because 'the VM has no network adapter'

            # 8 MiB written through to the disk, 32 MiB held in the guest's tmpfs, a busy loop.
            $script = 'dd if=/dev/zero of=/measured.bin bs=1M count=8 2>/dev/null && sync && dd if=/dev/zero of=/run/held bs=1M count=32 2>/dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
            (Invoke-VmCommand meter -Script $script).ExitCode | Should -Be 0
            $second = Get-Vm meter | Measure-Vm

            $second.CpuTime | Should -BeGreaterThan $first.CpuTime
            $second.Uptime | Should -BeGreaterThan $first.Uptime
            $second.DiskWrittenBytes | Should -BeGreaterOrEqual ($first.DiskWrittenBytes + 8MB)
            $second.GuestMemoryUsedBytes | Should -BeGreaterOrEqual ($first.GuestMemoryUsedBytes + 24MB)
            $second.HypervisorMemoryBytes | Should -BeGreaterThan $first.HypervisorMemoryBytes
        }

        It 'the table view shows every column within 80 columns' {
            $lines = @((Measure-Vm meter | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ -match '\S' })
            $lines | Where-Object Length -GT 80 | Should -BeNullOrEmpty
            $lines[0] -split '\s+' | Should -Be @('VmName', 'Uptime', 'CpuSec', 'RssMiB', 'Guest(MiB)', 'DiskRW(MiB)', 'NetRxTx(KiB)')
            $lines[2] | Should -Match '^meter\s+\d\d:\d\d:\d\d\s+[\d.]+\s+\d+\s+\d+/\d+\s+[\d.]+/[\d.]+'
        }

        It 'a paused VM is measured without the guest''s view; a stopped one is a VmNotRunning error naming it' {
            Suspend-Vm meter
            $paused = Measure-Vm meter
            $paused.State | Should -Be 'Paused'
            $paused.GuestMemoryTotalBytes | Should -BeNullOrEmpty
            $paused.CpuTime | Should -BeGreaterThan ([timespan]::Zero)
            Resume-Vm meter

            Stop-Vm meter -TurnOff
            $errors = Get-VmError { Get-Vm meter | Measure-Vm }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmNotRunning,*'
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $errors[0].TargetObject | Should -Be 'meter'
        }
    }
}
