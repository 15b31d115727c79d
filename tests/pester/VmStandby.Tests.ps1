#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Suspend-Vm, Resume-Vm, Save-Vm and Start-Vm of a Saved VM as a user runs them, on one busybox VM (QEMU).

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose standby
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Standby cmdlets' {
    It '<Command> has help for every parameter and completes VM names' -ForEach @(
        @{ Command = 'Suspend-Vm'; Parameters = 'Name', 'InputObject', 'PassThru' }
        @{ Command = 'Resume-Vm'; Parameters = 'Name', 'InputObject', 'PassThru' }
        @{ Command = 'Save-Vm'; Parameters = 'Name', 'InputObject', 'PassThru', 'AsJob' }
    ) {
        $help = Get-Help $Command -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        foreach ($name in $Parameters) {
            ($help.parameters.parameter | Where-Object name -EQ $name).description.Text | Should -Not -BeNullOrEmpty -Because "-$name needs help"
        }
        (Get-Command $Command).Parameters['Name'].Attributes.TypeId.Name | Should -Contain 'ArgumentCompleterAttribute'
    }

    Context 'with a running VM' -Skip:$NoQemu {
        BeforeAll {
            New-Vm -Name sleeper -Image busybox -MemoryMB 512 | Start-Vm
            Invoke-VmCommand sleeper -Script 'echo kept-in-memory > /run/marker' | Out-Null
        }

        It 'Suspend-Vm pauses, exec is refused at once with VmPaused, Resume-Vm runs it on' {
            (Get-Vm sleeper | Suspend-Vm -PassThru).State | Should -Be 'Paused'
            $errors = Get-VmError { Invoke-VmCommand sleeper -Command true }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmPaused,*'
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $errors[0].TargetObject | Should -Be 'sleeper'
            (Resume-Vm sleeper -PassThru).State | Should -Be 'Running'
            (Invoke-VmCommand sleeper -Command cat, /run/marker).Stdout.Trim() | Should -Be 'kept-in-memory'
        }

        It 'IdleTime counts from the last exec, so Get-Vm | Where-Object IdleTime -gt ... | Save-Vm saves the idle VM' {
            Invoke-VmCommand sleeper -Command true | Out-Null
            $vm = Get-Vm sleeper
            $vm.LastActivityAt | Should -BeGreaterThan $vm.StartedAt
            $vm.IdleTime | Should -BeLessThan ([timespan]'00:00:10')
            @(Get-Vm | Where-Object IdleTime -gt '00:00:10').Count | Should -Be 0

            Start-Sleep -Seconds 11
            $saved = @(Get-Vm | Where-Object IdleTime -gt '00:00:10' | Save-Vm -PassThru)
            $saved.Name | Should -Be 'sleeper'
            $saved.State | Should -Be 'Saved'
            $saved.IdleTime | Should -BeNullOrEmpty
            Start-Vm sleeper
            (Invoke-VmCommand sleeper -Command cat, /run/marker).Stdout.Trim() | Should -Be 'kept-in-memory'
        }

        It 'Save-Vm ends the hypervisor with State Saved; Start-Vm in another pwsh session brings back what was in memory' {
            $saved = Save-Vm sleeper -PassThru
            $saved.State | Should -Be 'Saved'
            $saved.ProcessId | Should -BeNullOrEmpty
            (Get-Vm sleeper | Format-Table | Out-String -Width 80) | Should -Match 'Saved'
            # The saved state is on disk, not in this session: a new pwsh (VMPS_HOME inherited) restores it.
            $pwsh = Join-Path $PSHOME 'pwsh'
            & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$RepoRoot/out/VmPs'; Start-Vm -Name sleeper -ErrorAction Stop" | Out-Null
            $LASTEXITCODE | Should -Be 0
            (Get-Vm sleeper).State | Should -Be 'Running'
            (Invoke-VmCommand sleeper -Command cat, /run/marker).Stdout.Trim() | Should -Be 'kept-in-memory'
        }

        It 'Save-Vm -AsJob and Start-Vm -AsJob work in jobs with step timings; Set-Vm on the saved VM says what to do' {
            $job = Save-Vm sleeper -AsJob -PassThru
            $job.PSJobTypeName | Should -Be 'SaveVmJob'
            (($job | Wait-Job -Timeout 300 | Receive-Job).State) | Should -Be 'Saved'
            $job.State | Should -Be 'Completed'

            $errors = Get-VmError { Set-Vm sleeper -Cpus 2 -WhatIf }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmSaved,*'
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $errors[0].TargetObject | Should -Be 'sleeper'
            $errors[0].Exception.Message | Should -Match 'Start-Vm sleeper; Stop-Vm sleeper'
            $errors[0].Exception.Message | Should -Match 'Start-Vm sleeper -Force'

            $job = Start-Vm sleeper -AsJob -PassThru
            $job.PSJobTypeName | Should -Be 'StartVmJob'
            $null = $job | Wait-Job -Timeout 300
            $job.State | Should -Be 'Completed'
            $steps = @($job.ChildJobs.Verbose.Message)
            ($job | Receive-Job).State | Should -Be 'Running'
            ($steps -match "^Starting VM 'sleeper': Restoring the saved state \(\d+\.\d{3} s\)$").Count | Should -Be 1
            $steps[-1] | Should -Match "^Starting VM 'sleeper': done in \d+\.\d{3} s$"
            (Invoke-VmCommand sleeper -Command cat, /run/marker).Stdout.Trim() | Should -Be 'kept-in-memory'
        }

        It 'a tampered saved state is refused with SavedStateInvalid, and Start-Vm -Force boots afresh' {
            Save-Vm sleeper
            $memory = Join-Path (Get-Vm sleeper).Directory 'saved/memory.bin'
            $bytes = [IO.File]::ReadAllBytes($memory)
            $bytes[$bytes.Length / 2] = $bytes[$bytes.Length / 2] -bxor 0xff
            [IO.File]::WriteAllBytes($memory, $bytes)

            $errors = Get-VmError { Start-Vm sleeper }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'SavedStateInvalid,*'
            $errors[0].Exception.Message | Should -Match 'SHA-256'
            (Get-Vm sleeper).State | Should -Be 'Saved'

            # -Verbose names the real steps of a fresh boot, each with the time it took.
            $steps = @(Start-Vm sleeper -Force -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            ($steps -match "^Starting VM 'sleeper': (Preparing the boot files|Launching the hypervisor|Waiting for the guest agent) \(\d+\.\d{3} s\)$").Count | Should -Be 3
            $steps | Should -Not -Match 'Restoring the saved state'
            (Get-Vm sleeper).State | Should -Be 'Running'
            (Invoke-VmCommand sleeper -Script 'cat /run/marker 2>/dev/null || echo gone').Stdout.Trim() | Should -Be 'gone'
        }

        It 'Resume-Vm on a running VM fails with VmNotPaused, under -WhatIf too' {
            (Get-VmError { Resume-Vm sleeper -WhatIf })[0].FullyQualifiedErrorId | Should -BeLike 'VmNotPaused,*'
        }

        It 'Restart-Vm boots a paused VM afresh, resuming it so that its guest shuts down; a saved VM is VmNotRunning' {
            Invoke-VmCommand sleeper -Script 'echo kept-in-memory > /run/marker' | Out-Null
            Suspend-Vm sleeper
            $restarted = Restart-Vm sleeper -PassThru
            $restarted.State | Should -Be 'Running'
            (Invoke-VmCommand sleeper -Script 'cat /run/marker 2>/dev/null || echo gone').Stdout.Trim() | Should -Be 'gone'

            Save-Vm sleeper
            $errors = Get-VmError { Restart-Vm sleeper }
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmNotRunning,*'
            $errors[0].Exception.Message | Should -Match 'saved, not running'
            $errors[0].ErrorDetails.RecommendedAction | Should -Be 'Start it first: Start-Vm sleeper'
            (Get-Vm sleeper).State | Should -Be 'Saved'
        }
    }
}
