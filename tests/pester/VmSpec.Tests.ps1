#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Export-VmSpec / Import-VmSpec (issue 11 §4) and Set-Vm. Nothing here boots a VM: specs create, change and compare
# stopped VMs. Networks live in a network namespace of this file's own.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose spec -Namespace
    $script:Home1 = $env:VMPS_HOME

    New-VmNetwork -Name speclab -Subnet 10.141.0.0/24 | Out-Null
    New-VmVolume -Name data -SizeGB 1 | Out-Null
    New-VmVolume -Name logs -SizeGB 1 | Out-Null
    New-Vm -Name web -Cpus 2 -MemoryMB 256 -InitMode Exec -Network speclab -IPAddress 10.141.0.7 -Publish 8080:80, 10.141.0.1:5353:53/udp -Volume data:/srv/data:ro | Out-Null

    # What -WhatIf writes goes to the host, not to a stream: a child pwsh prints it on its stdout.
    function script:Invoke-Child([string] $Command) {
        $module = Join-Path $RepoRoot 'out/VmPs'
        & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "Import-Module '$module'; $Command" 2>&1 | Out-String -Width 500
    }
}

AfterAll {
    $env:VMPS_HOME = $Home1
    Clear-VmPsTestState
}

Describe 'Export-VmSpec' {
    It 'writes the whole definition as YAML' {
        $yaml = Get-Vm web | Export-VmSpec
        $yaml | Should -Match '(?m)^name: web$'
        $yaml | Should -Match '(?m)^cpus: 2$'
        $yaml | Should -Match '(?m)^memoryMiB: 256$'
        $yaml | Should -Match '(?m)^initMode: Exec$'
        $yaml | Should -Match '(?m)^  name: speclab$'
        $yaml | Should -Match '(?m)^  ipAddress: 10.141.0.7$'
        $yaml | Should -Match '"8080:80"'
        $yaml | Should -Match '"10.141.0.1:5353:53/udp"'
        $yaml | Should -Match '"data:/srv/data:ro"'
    }

    It '-NoClobber keeps an existing file' {
        $path = Join-Path $TestDrive 'kept.yaml'
        Set-Content -Path $path -Value 'keep'
        $errors = Get-VmError { Export-VmSpec -Name web -Path $path -NoClobber }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'HostFileExists,*'
        Get-Content $path | Should -Be 'keep'
    }
}

Describe 'Import-VmSpec' {
    It 're-creates an ISO install with its ISO and firmware exactly as exported' {
        $content = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'iso-content')
        Set-Content -LiteralPath (Join-Path $content 'README') -Value 'installer'
        $iso = Join-Path $TestDrive 'installer.iso'
        xorriso -as mkisofs -quiet -o $iso $content.FullName 2>$null
        New-Vm -Name inst -IsoPath $iso -Firmware Bios -DiskSizeGB 2 | Out-Null
        $path = Join-Path $TestDrive 'inst.yaml'
        Export-VmSpec -Name inst -Path $path
        $before = Get-Content -Raw $path
        $before | Should -Match ([regex]::Escape("isoPath: $iso"))
        $before | Should -Match '(?m)^firmware: Bios$'
        $before | Should -Not -Match '(?m)^image:'
        Remove-Vm inst -Force

        (Import-VmSpec -Path $path).Outcome | Should -Be 'Created'
        Export-VmSpec -Name inst | Should -Be $before
        (Import-VmSpec -Path $path).NotChanged | Should -BeNullOrEmpty
        Remove-Vm inst -Force
    }

    It 're-creates a VM with host directory shares and a qcow2 disk exactly as exported' {
        $site = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'site')
        New-Vm -Name files -InitMode Exec -Share "$($site.FullName):/var/www:ro" -DiskFormat Qcow2 | Out-Null
        $path = Join-Path $TestDrive 'files.yaml'
        Export-VmSpec -Name files -Path $path
        $before = Get-Content -Raw $path
        $before | Should -Match '(?m)^diskFormat: Qcow2$'
        $before | Should -Match ([regex]::Escape("`"$($site.FullName):/var/www:ro`""))
        Remove-Vm files -Force

        (Import-VmSpec -Path $path).Outcome | Should -Be 'Created'
        Export-VmSpec -Name files | Should -Be $before
        (Import-VmSpec -Path $path).NotChanged | Should -BeNullOrEmpty
        Remove-Vm files -Force
    }

    It 're-creates a removed VM exactly as exported' {
        $path = Join-Path $TestDrive 'web.yaml'
        Get-Vm web | Export-VmSpec -Path $path
        $before = Get-Content -Raw $path
        Remove-Vm web -Force

        $result = Import-VmSpec -Path $path
        $result.Outcome | Should -Be 'Created'
        $result.PSTypeNames[0] | Should -Be 'VmPs.VmSpecResult'
        Export-VmSpec -Name web | Should -Be $before
        (Get-VmPortMapping web).HostPort | Sort-Object | Should -Be @(5353, 8080)
    }

    It 'round-trips Export | Import on a fresh VMPS_HOME' {
        New-Vm -Name plain -Cpus 1 -MemoryMB 128 -DiskSizeGB 2 | Out-Null
        $path = Join-Path $TestDrive 'plain.yaml'
        Export-VmSpec -Name plain -Path $path
        try {
            $env:VMPS_HOME = Join-Path $TestDrive 'fresh-home'
            Get-Vm | Should -BeNullOrEmpty
            (Import-VmSpec -LiteralPath $path).Outcome | Should -Be 'Created'
            $vm = Get-Vm plain
            ($vm.Cpus, $vm.MemoryMiB, $vm.DiskSizeGiB) | Should -Be @(1, 128, 2)
            Export-VmSpec -Name plain | Should -Be (Get-Content -Raw $path)
            (Import-VmSpec -Path $path).Outcome | Should -Be 'Unchanged'
        }
        finally {
            Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force
            $env:VMPS_HOME = $Home1
        }
    }

    It 'carries the metadata options, the user data and the SSH keys' {
        $key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs55EeuyPSGqiGsDwMxZ3+VQ51sAAvNh50sies9uPlA alice@laptop'
        $userData = "#cloud-config`nruncmd:`n  - [sh, -c, 'echo ""a: b"" > /run/x']`n"
        New-Vm -Name meta -MemoryMB 128 -DiskSizeGB 1 -UserData $userData -SshPublicKey $key -MetadataOptions @{ HttpTokens = 'required' } | Out-Null
        $path = Join-Path $TestDrive 'meta.yaml'
        Export-VmSpec -Name meta -Path $path
        $yaml = Get-Content -Raw $path
        $yaml | Should -Match '(?m)^metadataOptions:\n  httpTokens: Required$'
        $yaml | Should -Match '(?m)^userData: \|'
        $yaml | Should -Match ('(?m)^- "' + [regex]::Escape($key) + '"$')
        Remove-Vm meta -Force

        (Import-VmSpec -Path $path).Outcome | Should -Be 'Created'
        (Get-Vm meta).MetadataHttpTokens | Should -Be 'Required'
        Export-VmSpec -Name meta | Should -Be $yaml

        Set-Content -Path $path -Value ($yaml -replace 'httpTokens: Required', 'httpTokens: Optional' -replace 'alice@laptop', 'bob@laptop')
        $result = Import-VmSpec -Path $path -WarningVariable warnings 3>$null
        $result.Changes | Should -Be @('Set metadata HttpTokens Required -> Optional')
        $result.NotChanged | Should -Be @('sshPublicKeys differ from the spec''s (1 here, 1 in the spec): VmPs cannot change it on an existing VM (remove and re-create the VM).')
        (Get-Vm meta).MetadataHttpTokens | Should -Be 'Optional'
        Remove-Vm meta -Force
    }

    It 'changes what differs and reports what cannot change' {
        $yaml = (Export-VmSpec -Name web) -replace 'cpus: 2', 'cpus: 3' -replace 'image: busybox', 'image: alpine' -replace 'diskSizeGiB: 4', 'diskSizeGiB: 5' `
            -replace '"8080:80"', '"8081:80"' -replace '"data:/srv/data:ro"', '"logs:/var/log/app"'
        $path = Join-Path $TestDrive 'changed.yaml'
        Set-Content -Path $path -Value $yaml

        $result = Import-VmSpec -Path $path -WarningVariable warnings 3>$null
        $result.Outcome | Should -Be 'Changed'
        $result.Changes | Should -Be @(
            'Grow the disk 4 -> 5 GiB'
            'Set CPUs 2 -> 3, memory 256 -> 256 MiB'
            'Unpublish port 8080:80'
            'Publish port 8081:80'
            'Dismount volume data:/srv/data:ro'
            'Mount volume logs:/var/log/app')
        $result.NotChanged | Should -HaveCount 1
        $result.NotChanged[0] | Should -Match '^image is busybox, the spec says alpine'
        $warnings | Should -HaveCount 1
        (Get-Vm web).Cpus | Should -Be 3
        (Get-Vm web).DiskSizeGiB | Should -Be 5
        (Get-VmPortMapping web).HostPort | Sort-Object | Should -Be @(5353, 8081)
        (Get-VmVolume logs).AttachedTo | Should -Be @('web')
        (Get-VmVolume data).AttachedTo | Should -BeNullOrEmpty
    }

    It '-AsJob validates and confirms here, and applies in an ImportVmSpecJob with one child job per VM' {
        $first = Join-Path $TestDrive 'job-a.yaml'
        $second = Join-Path $TestDrive 'job-b.yaml'
        Set-Content -Path $first -Value "name: job-a`nimage: busybox`ndiskSizeGiB: 1`n"
        Set-Content -Path $second -Value "name: job-b`nimage: busybox`ndiskSizeGiB: 1`ncpus: 2`n"
        $job = Import-VmSpec -Path $first, $second -AsJob
        $job.PSJobTypeName | Should -Be 'ImportVmSpecJob'
        $job.ChildJobs.Location | Should -Be @('job-a', 'job-b')
        $null = $job | Wait-Job -Timeout 120
        $job.State | Should -Be 'Completed'
        @($job.ChildJobs[0].Verbose.Message)[-1] | Should -Match "^Importing the spec of VM 'job-a': done in \d+\.\d{3} s$"
        $results = @($job | Receive-Job)
        $results.Name | Should -Be @('job-a', 'job-b')
        $results.Outcome | Should -Be @('Created', 'Created')
        (Get-Vm job-b).Cpus | Should -Be 2

        # A change runs in the job too; a step that fails validation fails the call at once, and no job starts.
        Set-Content -Path $second -Value "name: job-b`nimage: busybox`ndiskSizeGiB: 2`ncpus: 1`n"
        $result = Import-VmSpec -Path $second -AsJob | Wait-Job -Timeout 120 | Receive-Job
        $result.Outcome | Should -Be 'Changed'
        $result.Changes | Should -Be @('Grow the disk 1 -> 2 GiB', 'Set CPUs 2 -> 1, memory 512 -> 512 MiB')
        (Get-Vm job-b).DiskSizeGiB | Should -Be 2
        Set-Content -Path $second -Value "name: job-b`nimage: busybox`ndiskSizeGiB: 3`ncpus: 100000`n"
        $output = Import-VmSpec -Path $second -AsJob -ErrorAction SilentlyContinue -ErrorVariable failures
        $output | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'CpuCountOutOfRange,VmPs.PowerShell.Commands.ImportVmSpecCommand'
        (Get-Vm job-b).DiskSizeGiB | Should -Be 2 -Because 'no step is applied when one fails validation'
        Remove-Vm job-a, job-b -Force
    }

    It '-WhatIf prints the plan and changes nothing' {
        $path = Join-Path $TestDrive 'whatif.yaml'
        Set-Content -Path $path -Value ((Export-VmSpec -Name web) -replace 'memoryMiB: 256', 'memoryMiB: 384' -replace 'image: busybox', 'image: alpine')
        Set-Content -Path (Join-Path $TestDrive 'new.yaml') -Value "name: brand-new`nimage: busybox`n"

        $env:VMPS_NETNS = $env:VMPS_NETNS
        $printed = Invoke-Child "`$env:VMPS_HOME = '$Home1'; Import-VmSpec -Path '$path', '$TestDrive/new.yaml' -WhatIf"
        $printed | Should -Match 'What if: Performing the operation "Set CPUs 3 -> 3, memory 256 -> 384 MiB" on target "web"'
        $printed | Should -Match 'What if: Performing the operation "Create VM \(busybox, 1 vCPU, 512 MiB\)" on target "brand-new"'
        $printed | Should -Match 'WARNING: VM .web.: image is busybox, the spec says alpine'
        (Get-Vm web).MemoryMiB | Should -Be 256
        Get-Vm brand-new -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It '-WhatIf validates each step: <Case>' -ForEach @(
        @{ Case = 'a missing image'; Yaml = "name: x1`nimage: no-such-image`n"; ErrorId = 'ImageNotFound' }
        @{ Case = 'a missing volume'; Yaml = "name: x2`nimage: busybox`nvolumes: [`"nosuch:/srv`"]`n"; ErrorId = 'VolumeNotFound' }
        @{ Case = 'too many CPUs'; Yaml = "name: web`nimage: busybox`ncpus: 100000`n"; ErrorId = 'CpuCountOutOfRange' }
    ) {
        $path = Join-Path $TestDrive 'invalid.yaml'
        Set-Content -Path $path -Value $Yaml
        $errors = Get-VmError { Import-VmSpec -Path $path -WhatIf 3>$null }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "$ErrorId,VmPs.PowerShell.Commands.ImportVmSpecCommand"
    }

    It 'bad YAML: <Case> fails naming the file, the line and the key' -ForEach @(
        @{ Case = 'an unknown key'; Yaml = "name: web`nimage: busybox`ncpu: 2`n"; ErrorId = 'VmSpecUnknownKey'; Message = ', line 3, key ''cpu'': unknown key' }
        @{ Case = 'a wrong value'; Yaml = "name: web`nimage: busybox`nnetwork:`n  ports:`n    - eighty`n"; ErrorId = 'VmSpecInvalidValue'; Message = ', line 5, key ''network.ports\[0\]'': ' }
        @{ Case = 'broken YAML'; Yaml = "name: web`nimage: busybox`n  cpus: 2`n"; ErrorId = 'VmSpecInvalidYaml'; Message = ', line 3: not valid YAML' }
    ) {
        $path = Join-Path $TestDrive 'bad.yaml'
        Set-Content -Path $path -Value $Yaml
        $errors = Get-VmError { Import-VmSpec -Path $path }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "$ErrorId,VmPs.PowerShell.Commands.ImportVmSpecCommand"
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errors[0].TargetObject | Should -Be $path
        $errors[0].Exception.Message | Should -Match ([regex]::Escape($path) + $Message)
        (Get-Vm web).Cpus | Should -Be 3
    }

    It 'reads specs from the pipeline' {
        $path = Join-Path $TestDrive 'piped.yaml'
        Export-VmSpec -Name web -Path $path
        (Get-Item $path | Import-VmSpec).Outcome | Should -Be 'Unchanged'
    }
}

Describe 'Set-Vm' {
    It 'changes a stopped VM''s CPUs and memory' {
        $vm = Set-Vm -Name web -Cpus 1 -MemoryMB 192 -PassThru
        ($vm.Cpus, $vm.MemoryMiB) | Should -Be @(1, 192)
        ((Get-Vm web).Cpus, (Get-Vm web).MemoryMiB) | Should -Be @(1, 192)
    }

    It '-WhatIf changes nothing' {
        Set-Vm -Name web -Cpus 2 -WhatIf
        (Get-Vm web).Cpus | Should -Be 1
    }

    It 'changes a stopped VM''s metadata options for its next start, not under -WhatIf' {
        (Get-Vm web).MetadataHttpTokens | Should -Be 'Optional'
        Set-Vm -Name web -MetadataOptions @{ HttpTokens = 'Required' } -WhatIf
        (Get-Vm web).MetadataHttpTokens | Should -Be 'Optional'
        (Set-Vm -Name web -MetadataOptions @{ HttpTokens = 'required' } -PassThru).MetadataHttpTokens | Should -Be 'Required'
        (Get-Vm web).MetadataHttpTokens | Should -Be 'Required'
    }
}
