#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The PowerShell conventions every VmPs cmdlet follows (issue 11 §3): pipeline binding that never crosses types,
# -Force that answers the confirmation, -WhatIf that validates before it reports. Nothing here boots a VM: the VMs
# are created, never started. Networks live in a network namespace of this file's own.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose conventions -Namespace

    $layout = New-TestImageLayout (Join-Path $TestDrive 'image')
    $script:Image = New-VmImage -Path $layout -Name tiny
    $script:Network = New-VmNetwork -Name lab -Subnet 10.131.0.0/24
    New-Vm -Name onlab -Image tiny -Network lab | Out-Null
    New-Vm -Name plain | Out-Null
    # A VM named like the network: binding must never pick it for the network.
    New-Vm -Name lab | Out-Null
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Pipeline binding never crosses types' {
    It 'Get-VmImage x | New-Vm -Name y uses image x' {
        $vm = Get-VmImage tiny | New-Vm -Name fromimage
        $vm.Image | Should -Be 'tiny'
        (Get-Vm -Name fromimage).Image | Should -Be 'tiny'
        Get-Vm -Name tiny -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Remove-Vm -Name fromimage -Force
    }

    It 'Get-VmNetwork lab | Get-Vm lists the VMs on lab, not the VM named lab' {
        (Get-VmNetwork lab | Get-Vm).Name | Should -Be @('onlab')
        (Get-Vm -Network lab).Name | Should -Be @('onlab')
    }

    It 'network rows lead to their VMs too' {
        (Get-VmNetwork lab | Select-Object Name | Get-Vm).Name | Should -Be @('onlab')
    }

    It 'Get-VmNetwork | Get-Vm never looks for a VM named after a network' {
        $errors = Get-VmError { Get-VmNetwork | Get-Vm }
        $errors | Should -BeNullOrEmpty
    }

    It 'Get-VmImage x | Get-Vm lists the VMs made from image x' {
        (Get-VmImage tiny | Get-Vm).Name | Should -Be @('onlab')
    }

    It 'a VM leads to its network and its image' {
        (Get-Vm onlab | Get-VmNetwork).Name | Should -Be 'lab'
        (Get-Vm onlab | Get-VmImage).Name | Should -Be 'tiny'
    }

    It 'objects that name a VM bind to it: adapters, port mappings, command results, VM rows' {
        (Get-VmNetworkAdapter onlab | Get-Vm).Name | Should -Be 'onlab'
        ([pscustomobject]@{ VmName = 'plain' } | Get-Vm).Name | Should -Be 'plain'
        ([pscustomobject]@{ Name = 'plain' } | Get-Vm).Name | Should -Be 'plain'
        (Get-Vm plain | Select-Object Name | Get-Vm).Name | Should -Be 'plain'
        (Get-Vm plain | ConvertTo-Csv | ConvertFrom-Csv | Get-Vm).Name | Should -Be 'plain'
    }

    It '<Case> piped to <Command> is refused, not taken as a VM name' -ForEach @(
        @{ Case = 'a network'; Command = 'Stop-Vm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Remove-Vm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Start-Vm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Suspend-Vm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Resume-Vm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'an image'; Command = 'Restart-Vm -WhatIf'; Source = { Get-VmImage tiny } }
        @{ Case = 'an image'; Command = 'Save-Vm -WhatIf'; Source = { Get-VmImage tiny } }
        @{ Case = 'a network'; Command = 'Checkpoint-Vm -CheckpointName cp1 -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Copy-Vm -Destination copied -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Get-VmLog'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Get-VmNetworkAdapter'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Get-VmPortMapping'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Invoke-VmCommand -Command true -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Copy-VmFile -Path /etc/hostname -Destination /tmp/ -ToVm -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Enter-Vm'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Add-VmPortMapping -HostPort 8080 -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'a network'; Command = 'Remove-VmPortMapping -HostPort 8080 -WhatIf'; Source = { Get-VmNetwork lab } }
        @{ Case = 'an image'; Command = 'Stop-Vm -WhatIf'; Source = { Get-VmImage tiny } }
        @{ Case = 'a process'; Command = 'Stop-Vm -WhatIf'; Source = { Get-Process -Id $PID } }
        @{ Case = 'a file'; Command = 'Remove-Vm -WhatIf'; Source = { Get-Item $PSCommandPath } }
        @{ Case = 'a VM'; Command = 'Remove-VmNetwork -WhatIf'; Source = { Get-Vm onlab } }
        @{ Case = 'a VM'; Command = 'Remove-VmImage -WhatIf'; Source = { Get-Vm onlab } }
        @{ Case = 'a network'; Command = 'New-Vm -Name fromnetwork -WhatIf'; Source = { Get-VmNetwork lab } }
    ) {
        $command = [scriptblock]::Create("`$input | $Command")
        $result = & $Source | & $command 2>&1
        $errors = @($result | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InputObjectNotBound,*'
        $errors[0].Exception.Message | Should -Match 'cannot stand for|cannot be bound'
        $result | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | Should -BeNullOrEmpty
        @(Get-Vm).Count | Should -Be 3
    }

    It 'no cmdlet binds a Name property by property name, except where the pipeline brings definitions (New-Vm, New-VmNetwork, New-VmUser, New-VmVolume)' {
        $byPropertyName = foreach ($command in Get-Command -Module VmPs) {
            foreach ($parameter in $command.Parameters.Values) {
                $bindsName = $parameter.Name -in 'Name', 'VmName' -or $parameter.Aliases -contains 'Name'
                $byProperty = $parameter.ParameterSets.Values | Where-Object ValueFromPipelineByPropertyName
                if ($bindsName -and $byProperty) { "$($command.Name) -$($parameter.Name)" }
            }
        }
        $byPropertyName | Should -Be @('New-Vm -Name', 'New-VmNetwork -Name', 'New-VmUser -Name', 'New-VmVolume -Name')
    }
}

Describe '-Force answers the confirmation; ConfirmImpact is Hyper-V''s' {
    It '<Command> has ConfirmImpact <Impact>' -ForEach @(
        @{ Command = 'Remove-Vm'; Impact = 'High' }
        @{ Command = 'Remove-VmImage'; Impact = 'High' }
        @{ Command = 'Remove-VmNetwork'; Impact = 'High' }
        @{ Command = 'Remove-VmVolume'; Impact = 'High' }
        @{ Command = 'Remove-VmUser'; Impact = 'High' }
        @{ Command = 'Stop-Vm'; Impact = 'Medium' }
        @{ Command = 'Restart-Vm'; Impact = 'Medium' }
        @{ Command = 'Set-Vm'; Impact = 'Medium' }
        @{ Command = 'Import-VmSpec'; Impact = 'Medium' }
        @{ Command = 'Start-Vm'; Impact = 'Medium' }
        @{ Command = 'Suspend-Vm'; Impact = 'Medium' }
        @{ Command = 'Resume-Vm'; Impact = 'Medium' }
        @{ Command = 'Save-Vm'; Impact = 'Medium' }
        @{ Command = 'Checkpoint-Vm'; Impact = 'Medium' }
        @{ Command = 'Copy-Vm'; Impact = 'Medium' }
        @{ Command = 'Restore-VmCheckpoint'; Impact = 'High' }
        @{ Command = 'Remove-VmCheckpoint'; Impact = 'High' }
        @{ Command = 'New-Vm'; Impact = 'Medium' }
        @{ Command = 'Remove-VmPortMapping'; Impact = 'Medium' }
    ) {
        $attribute = (Get-Command $Command).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $attribute.ConfirmImpact | Should -Be $Impact
    }

    It 'Remove-Vm asks first, and -Force removes without asking' {
        New-Vm -Name confirm-me | Out-Null
        $asked = Invoke-WithoutPrompt 'Remove-Vm -Name confirm-me'
        $asked.Errors.Count | Should -BeGreaterThan 0
        $asked.Errors[0].Exception.Message | Should -Match 'prompt|interaction'
        Get-Vm -Name confirm-me | Should -Not -BeNullOrEmpty

        $forced = Invoke-WithoutPrompt 'Remove-Vm -Name confirm-me -Force'
        $forced.Errors | Should -BeNullOrEmpty
        Get-Vm -Name confirm-me -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'Remove-VmImage -Force removes without asking, even an image a VM uses' {
        New-VmImage -Path (Join-Path $TestDrive 'image/layout') -Name tiny2 | Out-Null
        New-Vm -Name usestiny2 -Image tiny2 | Out-Null
        (Invoke-WithoutPrompt 'Remove-VmImage -Name tiny2').Errors.Count | Should -BeGreaterThan 0
        $forced = Invoke-WithoutPrompt 'Remove-VmImage -Name tiny2 -Force'
        $forced.Errors | Should -BeNullOrEmpty
        Get-VmImage -Name tiny2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Remove-Vm -Name usestiny2 -Force
    }

    It 'Remove-VmNetwork -Force removes without asking and detaches its VMs' {
        New-VmNetwork -Name lab2 -Subnet 10.132.0.0/24 | Out-Null
        New-Vm -Name onlab2 -Network lab2 | Out-Null
        (Invoke-WithoutPrompt 'Remove-VmNetwork -Name lab2').Errors.Count | Should -BeGreaterThan 0
        $forced = Invoke-WithoutPrompt 'Remove-VmNetwork -Name lab2 -Force'
        $forced.Errors | Should -BeNullOrEmpty
        Get-VmNetwork -Name lab2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-Vm -Name onlab2).Network | Should -BeNullOrEmpty
        Remove-Vm -Name onlab2 -Force
    }

    It '-Force with -WhatIf still only reports' {
        Remove-Vm -Name plain -Force -WhatIf
        Get-Vm -Name plain | Should -Not -BeNullOrEmpty
    }

    It 'Stop-Vm has -TurnOff for the hard power-off beside -Force' {
        (Get-Command Stop-Vm).Parameters.Keys | Should -Contain 'TurnOff'
        (Get-Command Stop-Vm).Parameters.Keys | Should -Contain 'Force'
    }
}

Describe '-WhatIf validates before it reports' {
    It '<Command> -WhatIf fails with <ErrorId>' -ForEach @(
        @{ Command = 'New-Vm -Name "bad name!"'; ErrorId = 'InvalidVmName' }
        @{ Command = 'New-Vm -Name onlab'; ErrorId = 'VmNameInUse' }
        @{ Command = 'New-Vm -Name x -Image no-such-image'; ErrorId = 'ImageNotFound' }
        @{ Command = 'New-Vm -Name x -Cpus 0'; ErrorId = 'CpuCountOutOfRange' }
        @{ Command = 'New-Vm -Name x -Network no-such-network'; ErrorId = 'NetworkNotFound' }
        @{ Command = 'New-Vm -Name x -Network lab -IPAddress 10.99.0.5'; ErrorId = 'AddressOutOfSubnet' }
        @{ Command = 'New-Vm -Name x -Network lab -IPAddress 10.131.0.300'; ErrorId = 'InvalidIPAddress' }
        @{ Command = 'New-Vm -Name x -Publish 127.0.0.999:80:80'; ErrorId = 'InvalidPublishedPort' }
        @{ Command = 'New-Vm -Name x -Volume no-such-volume:/srv'; ErrorId = 'VolumeNotFound' }
        @{ Command = 'Start-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Stop-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Set-Vm -Name no-such-vm -Cpus 2'; ErrorId = 'VmNotFound' }
        @{ Command = 'Set-Vm -Name plain -Cpus 0'; ErrorId = 'CpuCountOutOfRange' }
        @{ Command = 'Set-Vm -Name plain -MemoryMB 1'; ErrorId = 'MemoryOutOfRange' }
        @{ Command = 'Set-Vm -Name plain -MetadataOptions @{ HttpTokens = ''never'' }'; ErrorId = 'MetadataOptionsInvalid' }
        @{ Command = 'New-Vm -Name x -MetadataOptions @{ HttpEndpoint = ''disabled'' }'; ErrorId = 'MetadataOptionsInvalid' }
        @{ Command = 'Export-VmSpec -Name no-such-vm -Path ./x.yaml'; ErrorId = 'VmNotFound' }
        @{ Command = 'Suspend-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Resume-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Save-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Suspend-Vm -Name plain'; ErrorId = 'VmNotRunning' }
        @{ Command = 'Resume-Vm -Name plain'; ErrorId = 'VmNotPaused' }
        @{ Command = 'Save-Vm -Name plain'; ErrorId = 'VmNotRunning' }
        @{ Command = 'Restart-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Restart-Vm -Name plain'; ErrorId = 'VmNotRunning' }
        @{ Command = 'Checkpoint-Vm -Name plain -CheckpointName "bad name!"'; ErrorId = 'InvalidCheckpointName' }
        @{ Command = 'Checkpoint-Vm -Name no-such-vm -CheckpointName cp1'; ErrorId = 'VmNotFound' }
        @{ Command = 'Restore-VmCheckpoint -VmName plain -Name no-such-checkpoint'; ErrorId = 'CheckpointNotFound' }
        @{ Command = 'New-Vm -Name forked -FromCheckpoint plain/no-such-checkpoint'; ErrorId = 'CheckpointNotFound' }
        @{ Command = 'New-Vm -Name forked -FromCheckpoint no-such-vm/cp1'; ErrorId = 'VmNotFound' }
        @{ Command = 'Copy-Vm -Name no-such-vm -Destination copied'; ErrorId = 'VmNotFound' }
        @{ Command = 'Copy-Vm -Name plain -Destination onlab'; ErrorId = 'VmNameInUse' }
        @{ Command = 'Copy-Vm -Name plain -Destination "bad name!"'; ErrorId = 'InvalidVmName' }
        @{ Command = 'Remove-VmCheckpoint -VmName no-such-vm -Name cp1'; ErrorId = 'VmNotFound' }
        @{ Command = 'Remove-Vm -Name no-such-vm'; ErrorId = 'VmNotFound' }
        @{ Command = 'Invoke-VmCommand -Name no-such-vm -Command true'; ErrorId = 'VmNotFound' }
        @{ Command = 'Copy-VmFile -Name no-such-vm -Path /etc/hostname -Destination /tmp/ -ToVm'; ErrorId = 'VmNotFound' }
        @{ Command = 'New-VmImage "Not A Reference!"'; ErrorId = 'ImageReferenceInvalid' }
        @{ Command = 'New-VmImage -Path ./no-such-layout'; ErrorId = 'ImageSourceNotFound' }
        @{ Command = 'New-VmImage docker.io/library/alpine:3.20 -Name "bad name!"'; ErrorId = 'InvalidImageName' }
        @{ Command = 'Remove-VmImage -Name no-such-image'; ErrorId = 'ImageNotFound' }
        @{ Command = 'New-VmNetwork -Name lab3 -Subnet 10.133.0.0/33'; ErrorId = 'InvalidSubnet' }
        @{ Command = 'New-VmNetwork -Name lab3 -Subnet 10.131.0.0/25'; ErrorId = 'SubnetConflict' }
        @{ Command = 'New-VmNetwork -Name lab -Subnet 10.134.0.0/24'; ErrorId = 'NetworkNameInUse' }
        @{ Command = 'New-VmNetwork -Name lab3 -Subnet 10.135.0.0/24 -Gateway 10.136.0.1'; ErrorId = 'AddressOutOfSubnet' }
        @{ Command = 'Remove-VmNetwork -Name no-such-network'; ErrorId = 'NetworkNotFound' }
        @{ Command = 'Add-VmPortMapping -VmName plain -HostPort 8080'; ErrorId = 'NetworkAdapterNotFound' }
        @{ Command = 'Add-VmPortMapping -VmName onlab -HostPort 8080 -HostAddress not-an-address'; ErrorId = 'InvalidIPAddress' }
        @{ Command = 'Remove-VmPortMapping -VmName no-such-vm -HostPort 8080'; ErrorId = 'VmNotFound' }
    ) {
        $errors = Get-VmError ([scriptblock]::Create("$Command -WhatIf"))
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        @(Get-Vm).Count | Should -Be 3
        @(Get-VmNetwork).Name | Should -Be @('lab')
    }

    It 'a valid call under -WhatIf reports and changes nothing' {
        New-Vm -Name would -Network lab -IPAddress 10.131.0.50 -WhatIf
        New-VmNetwork -Name would -Subnet 10.137.0.0/24 -WhatIf
        Add-VmPortMapping -VmName onlab -HostPort 8080 -VmPort 80 -WhatIf
        Get-Vm -Name would -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-VmNetwork -Name would -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-VmPortMapping onlab | Should -BeNullOrEmpty
    }
}

Describe '-AsJob on every long operation' {
    It '<_> has -AsJob and declares Job among its outputs' -ForEach @(
        'Start-Vm', 'Stop-Vm', 'Restart-Vm', 'Save-Vm', 'Checkpoint-Vm', 'Restore-VmCheckpoint', 'Copy-Vm', 'Resize-VmDisk',
        'New-VmImage', 'New-VmVolume', 'Copy-VmVolume', 'Resize-VmVolume', 'Build-VmKernel', 'Invoke-VmCommand', 'New-Vm',
        'Import-VmSpec', 'Copy-VmFile'
    ) {
        $command = Get-Command $_
        $command.Parameters.Keys | Should -Contain 'AsJob'
        $command.OutputType.Type | Should -Contain ([System.Management.Automation.Job])
    }

    # Stopped VMs and volumes only: each job runs the real operation, and Receive-Job returns what the call without
    # -AsJob would have output.
    It 'Checkpoint-Vm, Restore-VmCheckpoint, Copy-Vm, Resize-VmDisk and Stop-Vm run in jobs of their type' {
        New-Vm -Name jobs -DiskSizeGB 1 | Out-Null
        $job = Checkpoint-Vm jobs -CheckpointName cp1 -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'CheckpointVmJob'
        ($job | Wait-Job -Timeout 120 | Receive-Job).Name | Should -Be 'cp1'
        $job.State | Should -Be 'Completed'

        $job = Get-VmCheckpoint jobs cp1 | Restore-VmCheckpoint -Force -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'RestoreVmCheckpointJob'
        ($job | Wait-Job -Timeout 120 | Receive-Job).State | Should -Be 'Stopped'

        $job = Copy-Vm jobs -Destination jobs-copy -AsJob
        $job.PSJobTypeName | Should -Be 'CopyVmJob'
        $null = $job | Wait-Job -Timeout 120
        # Read before Receive-Job, which takes the records out of the job.
        @($job.ChildJobs.Verbose.Message)[-1] | Should -Match "^Copying VM 'jobs': done in \d+\.\d{3} s$"
        ($job | Receive-Job).Name | Should -Be 'jobs-copy'

        $job = Resize-VmDisk jobs -SizeGB 2 -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'ResizeVmDiskJob'
        ($job | Wait-Job -Timeout 120 | Receive-Job).DiskSizeGiB | Should -Be 2

        # One child job per piped VM; stopping a VM that does not run leaves it Stopped, as without -AsJob.
        $job = Get-Vm jobs, jobs-copy | Stop-Vm -TurnOff -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'StopVmJob'
        $job.ChildJobs.Location | Should -Be @('jobs', 'jobs-copy')
        @($job | Wait-Job -Timeout 120 | Receive-Job).State | Should -Be @('Stopped', 'Stopped')
        $job.State | Should -Be 'Completed'

        # A failure is the child job's error, with the id the call without -AsJob writes.
        $job = Resize-VmDisk jobs -SizeGB 1 -AsJob
        $null = $job | Wait-Job -Timeout 120
        $job.State | Should -Be 'Failed'
        $null = $job | Receive-Job -ErrorAction SilentlyContinue -ErrorVariable jobErrors
        $direct = (Get-VmError { Resize-VmDisk jobs -SizeGB 1 })[0]
        $jobErrors[0].FullyQualifiedErrorId | Should -Be ($direct.FullyQualifiedErrorId -split ',')[0]
        $jobErrors[0].FullyQualifiedErrorId | Should -Be 'VmDiskShrinkNotSupported'
        $jobErrors[0].TargetObject | Should -Be $direct.TargetObject

        Remove-Vm jobs, jobs-copy -Force
    }

    It 'New-Vm makes the disk, or copies a checkpoint''s, in a NewVmJob with one child job per VM' {
        $job = 'newjob1', 'newjob2' | ForEach-Object { [pscustomobject] @{ Name = $_; Image = 'tiny' } } | New-Vm -DiskSizeGB 1 -AsJob
        $job.PSJobTypeName | Should -Be 'NewVmJob'
        $job.ChildJobs.Location | Should -Be @('newjob1', 'newjob2')
        $vms = @($job | Wait-Job -Timeout 120 | Receive-Job)
        $vms.Name | Should -Be @('newjob1', 'newjob2')
        $vms[0].PSObject.TypeNames[0] | Should -Be 'VmPs.Vm'
        (Get-Vm newjob2).Image | Should -Be 'tiny'

        Checkpoint-Vm newjob1 -CheckpointName base
        $job = Get-VmCheckpoint newjob1 base | New-Vm -Name newjob-fork -AsJob
        $null = $job | Wait-Job -Timeout 120
        @($job.ChildJobs.Verbose.Message)[-1] | Should -Match "^Creating VM 'newjob-fork': done in \d+\.\d{3} s$"
        ($job | Receive-Job).Name | Should -Be 'newjob-fork'

        # Validation comes first, as without -AsJob: a taken name fails the call, not a job.
        $output = New-Vm -Name newjob1 -AsJob -ErrorAction SilentlyContinue -ErrorVariable failures
        $output | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -Be 'VmNameInUse,VmPs.PowerShell.Commands.NewVmCommand'
        Remove-Vm newjob1, newjob2, newjob-fork -Force
    }

    It 'Copy-VmVolume and Resize-VmVolume run in jobs; the copy method is in the job''s verbose stream' {
        New-VmVolume -Name jobvol -SizeGB 1 | Out-Null
        $job = Copy-VmVolume jobvol -Destination jobvol2 -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'CopyVmVolumeJob'
        $null = $job | Wait-Job -Timeout 120
        $job.State | Should -Be 'Completed'
        @($job.ChildJobs.Verbose.Message) -match "^'jobvol2' is a (reflink|full copy) of 'jobvol'|^'jobvol' and 'jobvol2' are qcow2 files" | Should -Not -BeNullOrEmpty
        ($job | Receive-Job -WarningAction SilentlyContinue).Name | Should -Be 'jobvol2'

        $job = Get-VmVolume jobvol, jobvol2 | Resize-VmVolume -SizeGB 2 -AsJob -PassThru
        $job.ChildJobs.Count | Should -Be 2
        @($job | Wait-Job -Timeout 120 | Receive-Job).SizeBytes | Should -Be @(2GB, 2GB)
        Remove-VmVolume jobvol, jobvol2 -Force
    }
}
