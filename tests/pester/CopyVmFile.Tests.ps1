#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Copy-VmFile against a real VM (QEMU), through the built module folder and its own state directory.

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-copy-$([guid]::NewGuid().ToString('n'))"
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-copy-work-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    New-Item -ItemType Directory -Path $Work | Out-Null
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop
}

AfterAll {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module VmPs -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $StateDirectory, $Work -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME
}

Describe 'Copy-VmFile' {
    It 'has help for every parameter and completes VM names' {
        $help = Get-Help Copy-VmFile -Full
        foreach ($name in 'Name', 'InputObject', 'Path', 'Destination', 'ToVm', 'FromVm', 'Recurse', 'Force', 'CreateFullPath', 'PreserveOwnership', 'PassThru', 'AsJob') {
            ($help.parameters.parameter | Where-Object name -EQ $name).description.Text | Should -Not -BeNullOrEmpty -Because "-$name needs help"
        }
        (Get-Command Copy-VmFile).Parameters['Name'].Attributes.TypeId.Name | Should -Contain 'ArgumentCompleterAttribute'
    }

    Context 'with a running VM' -Skip:$NoQemu {
        BeforeAll {
            $script:Vm = New-Vm -Name files -Image busybox -MemoryMB 512 | Start-Vm -PassThru
            Push-Location $Work
            New-Item -ItemType Directory -Path tree/sub, tree/empty | Out-Null
            Set-Content -Path tree/sub/a.txt -Value 'alpha'
            Set-Content -Path one.txt -Value 'one'
            Set-Content -Path two.txt -Value 'two'
        }

        AfterAll {
            Pop-Location
        }

        It 'copies a relative host file in and out, with -PassThru objects' {
            $copied = Copy-VmFile -Name files -Path one.txt -Destination /tmp/pester/ -ToVm -CreateFullPath -PassThru
            $copied.PSObject.TypeNames | Should -Contain 'VmPs.GuestFile'
            $copied.Path | Should -Be '/tmp/pester/one.txt'
            $copied.VmName | Should -Be 'files'
            $copied | Format-Table | Out-String -Width 200 | Should -Match '/tmp/pester/one.txt'

            $back = $Vm | Copy-VmFile -Path /tmp/pester/one.txt -Destination back.txt -FromVm -PassThru
            $back | Should -BeOfType [IO.FileInfo]
            $back.FullName | Should -Be (Join-Path $Work back.txt)
            Get-Content back.txt | Should -Be 'one'
        }

        It '-AsJob copies in a CopyVmFileJob, one child job per source, whose output is the -PassThru objects' {
            $job = Copy-VmFile -Name files -Path one.txt, two.txt -Destination /tmp/pester/jobs/ -ToVm -CreateFullPath -PassThru -AsJob
            $job.PSJobTypeName | Should -Be 'CopyVmFileJob'
            $job.ChildJobs.Count | Should -Be 2
            $copied = @($job | Wait-Job -Timeout 120 | Receive-Job)
            $job.State | Should -Be 'Completed'
            $copied.Path | Sort-Object | Should -Be @('/tmp/pester/jobs/one.txt', '/tmp/pester/jobs/two.txt')
            $copied[0].PSObject.TypeNames[0] | Should -Be 'VmPs.GuestFile'
            $copied[0].VmName | Should -Be 'files'

            # A failure is the child job's error, with the id the call without -AsJob writes.
            $job = Copy-VmFile -Name files -Path /tmp/pester/nosuch -Destination nosuch -FromVm -AsJob
            $null = $job | Wait-Job -Timeout 120
            $job.State | Should -Be 'Failed'
            $null = $job | Receive-Job -ErrorAction SilentlyContinue -ErrorVariable jobErrors
            Copy-VmFile -Name files -Path /tmp/pester/nosuch -Destination nosuch -FromVm -ErrorAction SilentlyContinue -ErrorVariable direct
            $jobErrors[0].FullyQualifiedErrorId | Should -Be ($direct[0].FullyQualifiedErrorId -split ',')[0]
        }

        It 'expands wildcards on the host into a guest directory' {
            Copy-VmFile -Name files -Path '*.txt' -Destination /tmp/pester/many -ToVm -CreateFullPath
            (Invoke-VmCommand -Name files -Command ls, /tmp/pester/many).Stdout | Should -Match 'one.txt\s+two.txt'
        }

        It 'needs -Recurse for a directory and -Force for an existing destination' {
            { Copy-VmFile -Name files -Path tree -Destination /tmp/pester/tree -ToVm -ErrorAction Stop } |
                Should -Throw -ErrorId 'CopyRecurseRequired,VmPs.PowerShell.Commands.CopyVmFileCommand'
            # Like cp: an existing directory destination receives the source under its own name.
            Copy-VmFile -Name files -Path tree -Destination /tmp/pester/ -ToVm -Recurse
            { Copy-VmFile -Name files -Path tree -Destination /tmp/pester/ -ToVm -Recurse -ErrorAction Stop } |
                Should -Throw -ErrorId 'GuestFileExists,VmPs.PowerShell.Commands.CopyVmFileCommand'
            Copy-VmFile -Name files -Path tree -Destination /tmp/pester/ -ToVm -Recurse -Force

            Copy-VmFile -Name files -Path /tmp/pester/tree -Destination treeback -FromVm -Recurse
            Get-Content treeback/sub/a.txt | Should -Be 'alpha'
            Test-Path treeback/empty -PathType Container | Should -BeTrue
            { Copy-VmFile -Name files -Path /tmp/pester/tree -Destination treeback -FromVm -ErrorAction Stop } |
                Should -Throw -ErrorId 'CopyRecurseRequired,VmPs.PowerShell.Commands.CopyVmFileCommand'
        }

        It 'refuses a missing destination directory in either direction unless -CreateFullPath' {
            { Copy-VmFile -Name files -Path one.txt -Destination /tmp/pester/absent/one.txt -ToVm -ErrorAction Stop } |
                Should -Throw -ErrorId 'CopyDestinationNotFound,VmPs.PowerShell.Commands.CopyVmFileCommand'
            { Copy-VmFile -Name files -Path /tmp/pester/one.txt -Destination absent/deeper/ -FromVm -ErrorAction Stop } |
                Should -Throw -ErrorId 'CopyDestinationNotFound,VmPs.PowerShell.Commands.CopyVmFileCommand'
            Test-Path absent | Should -BeFalse

            Copy-VmFile -Name files -Path /tmp/pester/one.txt -Destination absent/deeper/ -FromVm -CreateFullPath
            Get-Content absent/deeper/one.txt | Should -Be 'one'
        }

        It 'gives copies out of the VM the invoking user and no setuid bit unless -PreserveOwnership' {
            Invoke-VmCommand -Name files { mkdir -p /tmp/pester/owned && echo x > /tmp/pester/owned/tool && chown 1234:1234 /tmp/pester/owned/tool && chmod 4755 /tmp/pester/owned/tool } |
                Select-Object -ExpandProperty ExitCode | Should -Be 0
            $me = (& id -u), (& id -g)

            Copy-VmFile -Name files -Path /tmp/pester/owned/tool -Destination plain -FromVm
            $plain = (& stat -c '%u %g %a' plain)
            $plain | Should -Be "$($me[0]) $($me[1]) $([Convert]::ToString(0x1ED -band -bnot [Convert]::ToInt32((& sh -c umask), 8), 8))"

            Copy-VmFile -Name files -Path /tmp/pester/owned/tool -Destination kept -FromVm -PreserveOwnership
            (& stat -c '%u %g %a' kept) | Should -Be ($(if ($me[0] -eq '0') { '1234 1234 755' } else { "$($me[0]) $($me[1]) 755" }))
        }

        It 'reports a missing guest path and honours -WhatIf' {
            { Copy-VmFile -Name files -Path /no/such/file -Destination . -FromVm -ErrorAction Stop } |
                Should -Throw -ErrorId 'GuestFileNotFound,VmPs.PowerShell.Commands.CopyVmFileCommand'
            Copy-VmFile -Name files -Path two.txt -Destination /tmp/pester/whatif.txt -ToVm -WhatIf
            (Invoke-VmCommand -Name files -Command ls, /tmp/pester).Stdout | Should -Not -Match 'whatif'
        }
    }
}
