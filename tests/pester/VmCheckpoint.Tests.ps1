#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Checkpoint-Vm, Get-VmCheckpoint, Restore-VmCheckpoint and Remove-VmCheckpoint as a user runs them, on one busybox VM (QEMU).

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose ckpt
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Checkpoint cmdlets' {
    It '<Command> has help for every parameter' -ForEach @(
        @{ Command = 'Checkpoint-Vm'; Parameters = 'Name', 'InputObject', 'CheckpointName', 'PassThru' }
        @{ Command = 'Get-VmCheckpoint'; Parameters = 'VmName', 'Vm', 'Name' }
        @{ Command = 'Restore-VmCheckpoint'; Parameters = 'VmName', 'Name', 'InputObject', 'Force', 'PassThru' }
        @{ Command = 'Remove-VmCheckpoint'; Parameters = 'VmName', 'Name', 'InputObject', 'Force' }
        @{ Command = 'Copy-Vm'; Parameters = 'Name', 'InputObject', 'Destination' }
        @{ Command = 'New-Vm'; Parameters = 'FromCheckpoint', 'Checkpoint' }
    ) {
        $help = Get-Help $Command -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        foreach ($name in $Parameters) {
            ($help.parameters.parameter | Where-Object name -EQ $name).description.Text | Should -Not -BeNullOrEmpty -Because "-$name needs help"
        }
    }

    Context 'with a running VM' -Skip:$NoQemu {
        BeforeAll {
            New-Vm -Name web -Image busybox -MemoryMB 512 | Start-Vm
            Invoke-VmCommand web -Script 'mkdir -p /srv && echo one > /srv/version && sync && echo in-memory > /run/marker' | Out-Null
        }

        It 'Checkpoint-Vm of the running VM includes memory; Get-VmCheckpoint shows it in 80 columns' {
            $checkpoint = Get-Vm web | Checkpoint-Vm -CheckpointName cp1 -PassThru
            $checkpoint.HasMemory | Should -BeTrue
            $checkpoint.PSObject.TypeNames | Should -Contain 'VmPs.VmCheckpoint'
            (Get-Vm web).State | Should -Be 'Running'
            $listed = Get-VmCheckpoint -VmName web
            $listed.Name | Should -Be 'cp1'
            $listed.SizeBytes | Should -BeGreaterThan 0
            $table = $listed | Format-Table | Out-String -Width 200
            ($table -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
            $table | Should -Match 'cp1'
        }

        It 'Restore-VmCheckpoint asks first; with -Force a piped checkpoint brings back the file and the memory' {
            Invoke-VmCommand web -Script 'echo two > /srv/version && sync' | Out-Null
            (Invoke-WithoutPrompt 'Restore-VmCheckpoint -VmName web -Name cp1').Errors.Count | Should -BeGreaterThan 0
            (Get-VmCheckpoint -VmName web -Name cp* | Restore-VmCheckpoint -Force -PassThru).State | Should -Be 'Saved'
            Start-Vm web
            (Invoke-VmCommand web -Command cat, /srv/version).Stdout.Trim() | Should -Be 'one'
            (Invoke-VmCommand web -Command cat, /run/marker).Stdout.Trim() | Should -Be 'in-memory'
        }

        It 'a piped checkpoint forks into a new VM that resumes with its own hostname and machine-id; Copy-Vm -WhatIf makes nothing' {
            $fork = Get-VmCheckpoint -VmName web -Name cp1 | New-Vm -Name web2
            $fork.State | Should -Be 'Saved'
            Start-Vm web2
            (Invoke-VmCommand web2 -Command cat, /run/marker).Stdout.Trim() | Should -Be 'in-memory'
            (Invoke-VmCommand web2 -Command hostname).Stdout.Trim() | Should -Be 'web2'
            (Invoke-VmCommand web2 -Command cat, /etc/machine-id).Stdout.Trim() | Should -Be $fork.Id.ToString('N')
            (Invoke-VmCommand web -Command hostname).Stdout.Trim() | Should -Be 'web'
            Remove-Vm web2 -Force
            Copy-Vm web -Destination web3 -WhatIf
            Get-Vm web3 -ErrorAction Ignore | Should -BeNullOrEmpty
            (Get-VmCheckpoint -VmName web).Name | Should -Be 'cp1'
        }

        It 'Remove-VmCheckpoint takes piped checkpoints; Remove-Vm takes the rest with the VM' {
            Stop-Vm web -TurnOff
            (Checkpoint-Vm web cp2 -PassThru).HasMemory | Should -BeFalse
            Get-VmCheckpoint web cp2 | Remove-VmCheckpoint -Force
            (Get-VmCheckpoint web).Name | Should -Be 'cp1'
            $directory = (Get-Vm web).Directory
            Remove-Vm web -Force
            Test-Path $directory | Should -BeFalse
        }
    }
}
