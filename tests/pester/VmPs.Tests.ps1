#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the VmPs cmdlets, run against the built module folder (dotnet build VmPs.sln first).
# Every run uses its own state directory, so it never sees or touches the user's VMs.

BeforeDiscovery {
    # Booting needs QEMU (or Cloud Hypervisor with working KVM, which QEMU-less hosts here lack).
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop

    # The non-terminating errors the action wrote, without showing them.
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

Describe 'The module' {
    It 'exports every cmdlet its manifest lists, the main job''s among them' {
        $listed = (Import-PowerShellDataFile (Join-Path $RepoRoot 'out/VmPs/VmPs.psd1')).CmdletsToExport
        $exported = (Get-Command -Module VmPs).Name | Sort-Object

        $exported | Should -Be ($listed | Sort-Object)
        $exported | Should -Contain 'New-Vm'
        $exported | Should -Contain 'Start-Vm'
        $exported | Should -Contain 'Invoke-VmCommand'
    }

    It 'loads its views' {
        Get-FormatData -TypeName VmPs.Core.Vms.VmInfo | Should -Not -BeNullOrEmpty
        Get-FormatData -TypeName VmPs.Core.Vms.VmCommandResult | Should -Not -BeNullOrEmpty
    }

    It 'has the about_VmPs help topic' {
        Get-Help about_VmPs | Out-String | Should -Match 'QUICK START'
    }

    It 'completes image names' {
        $completion = TabExpansion2 -inputScript 'New-Vm -Name x -Image busy' -cursorColumn 'New-Vm -Name x -Image busy'.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'busybox'
    }
}

Describe 'Get-VmHost' {
    It 'reports the state directory and the hypervisors it looked for' {
        $report = Get-VmHost
        $report.PSObject.TypeNames | Should -Contain 'VmPs.VmHost'
        $report.StateDirectory | Should -Be $StateDirectory
        $report.Hypervisors.Kind | Should -Contain 'Qemu'
        $report | Format-List | Out-String | Should -Match 'StateDirectory'
    }
}

Describe 'Errors' {
    It 'Get-Vm of an unknown name is a non-terminating ObjectNotFound error about that name' {
        $errors = Get-VmError { Get-Vm -Name nosuchvm }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.GetVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be 'nosuchvm'
    }

    It 'a wildcard that matches nothing is no error' {
        Get-VmError { Get-Vm -Name 'nosuch*' } | Should -BeNullOrEmpty
    }

    It 'one failing VM does not stop the others in the pipeline' {
        $errors = Get-VmError { 'ghost1', 'ghost2' | Start-Vm }
        $errors.Count | Should -Be 2
        $errors.TargetObject | Should -Be @('ghost1', 'ghost2')
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.StartVmCommand' }
    }

    It 'New-Vm with an unknown image names the image' {
        $errors = Get-VmError { New-Vm -Name badimage -Image no-such-image }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,VmPs.PowerShell.Commands.NewVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be 'no-such-image'
        Get-Vm -Name badimage -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'New-Vm with an invalid <Case> is the InvalidArgument error <ErrorId>' -ForEach @(
        @{ Case = 'name'; ErrorId = 'InvalidVmName'; Arguments = @{ Name = 'bad name!' } }
        @{ Case = 'CPU count'; ErrorId = 'CpuCountOutOfRange'; Arguments = @{ Name = 'toosmall'; Cpus = 0 } }
        @{ Case = 'memory size'; ErrorId = 'MemoryOutOfRange'; Arguments = @{ Name = 'toobig'; MemoryMB = 100000000 } }
        @{ Case = 'disk size'; ErrorId = 'DiskSizeOutOfRange'; Arguments = @{ Name = 'nodisk'; DiskSizeGB = 0 } }
    ) {
        $errors = Get-VmError { New-Vm @Arguments }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "$ErrorId,VmPs.PowerShell.Commands.NewVmCommand"
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Vm -Name $Arguments.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'New-Vm -Share <Case> is <ErrorId> (<Category>) before anything is made' -ForEach @(
        @{ Case = 'that is no share'; Share = 'just-a-path'; ErrorId = 'InvalidShare'; Category = 'InvalidArgument' }
        @{ Case = 'of a missing directory'; Share = './no-such-dir:/data'; ErrorId = 'ShareHostPathNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'of a file'; Share = './a-file:/data'; ErrorId = 'ShareHostPathNotDirectory'; Category = 'InvalidArgument' }
        @{ Case = 'over /proc'; Share = './a-dir:/proc/x'; ErrorId = 'ReservedMountPath'; Category = 'InvalidArgument' }
        @{ Case = 'at a relative guest path'; Share = './a-dir:/data/../x'; ErrorId = 'InvalidMountPath'; Category = 'InvalidArgument' }
        @{ Case = 'given twice'; Share = @('./a-dir:/data', './a-dir:/data:ro'); ErrorId = 'DuplicateMountPath'; Category = 'InvalidArgument' }
    ) {
        New-Item -ItemType Directory -Path (Join-Path $TestDrive 'a-dir') -Force | Out-Null
        Set-Content -Path (Join-Path $TestDrive 'a-file') -Value ''
        Push-Location $TestDrive
        try {
            $errors = Get-VmError { New-Vm -Name shared -Share $Share -WhatIf }
        }
        finally {
            Pop-Location
        }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "$ErrorId,VmPs.PowerShell.Commands.NewVmCommand"
        $errors[0].CategoryInfo.Category | Should -Be $Category
        Get-Vm -Name shared -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'New-Vm -Share resolves a relative host path against the current location' {
        Push-Location $TestDrive
        try {
            $errors = Get-VmError { New-Vm -Name shared -Share ./no-such-dir:/data }
        }
        finally {
            Pop-Location
        }
        $errors[0].TargetObject | Should -Be (Join-Path $TestDrive 'no-such-dir')
    }

    It 'New-Vm with a kernel that does not exist is KernelNotFound, resolved against the current location' {
        Push-Location $TestDrive
        try {
            $errors = Get-VmError { New-Vm -Name nokernel -Kernel ./no-such-vmlinuz }
        }
        finally {
            Pop-Location
        }
        $errors[0].FullyQualifiedErrorId | Should -Be 'KernelNotFound,VmPs.PowerShell.Commands.NewVmCommand'
        $errors[0].TargetObject | Should -Be (Join-Path $TestDrive 'no-such-vmlinuz')
    }

    It 'New-Vm with a name in use is ResourceExists' {
        New-Vm -Name twice | Out-Null
        try {
            $errors = Get-VmError { New-Vm -Name twice }
            $errors[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            $errors[0].FullyQualifiedErrorId | Should -BeLike '*,VmPs.PowerShell.Commands.NewVmCommand'
        }
        finally {
            Remove-Vm -Name twice -Confirm:$false
        }
    }

    It 'errors carry a recommended action' {
        (Get-VmError { Get-Vm -Name nosuchvm })[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It '-ErrorAction Stop makes the error catchable with its id' {
        { Start-Vm -Name nosuchvm -ErrorAction Stop } | Should -Throw -ErrorId 'VmNotFound,VmPs.PowerShell.Commands.StartVmCommand'
    }
}

Describe 'WhatIf and pipeline binding' {
    It 'New-Vm -WhatIf creates nothing' {
        New-Vm -Name whatif -WhatIf
        Get-Vm -Name whatif -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    Context 'with a created VM' {
        BeforeAll {
            $script:Created = New-Vm -Name bind-one -Image busybox -Cpus 1 -MemoryMB 256
        }

        AfterAll {
            Remove-Vm -Name 'bind-*' -Force -Confirm:$false -ErrorAction SilentlyContinue
        }

        It 'New-Vm returns a stopped VmPs.Vm' {
            $Created.PSObject.TypeNames | Should -Contain 'VmPs.Vm'
            $Created.Name | Should -Be 'bind-one'
            $Created.State | Should -Be 'Stopped'
            $Created.MemoryMiB | Should -Be 256
            $Created.MemoryMB | Should -Be 256
        }

        It 'finds VMs by wildcard and by a VmName property in the pipeline' {
            (Get-Vm -Name 'BIND-*').Name | Should -Be 'bind-one'
            ([pscustomobject]@{ VmName = 'bind-one' } | Get-Vm).Name | Should -Be 'bind-one'
        }

        It 'Remove-Vm -WhatIf keeps the VM' {
            Get-Vm -Name bind-one | Remove-Vm -WhatIf
            Get-Vm -Name bind-one | Should -Not -BeNullOrEmpty
        }

        It 'Invoke-VmCommand on a stopped VM is an error, not a result' {
            $errors = Get-VmError { Get-Vm -Name bind-one | Invoke-VmCommand -Command true }
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotRunning,VmPs.PowerShell.Commands.InvokeVmCommandCommand'
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        }

        It 'completes VM names' {
            $line = 'Start-Vm -Name bind-'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'bind-one'
        }

        It 'Remove-Vm takes VM objects from the pipeline' {
            Get-Vm -Name bind-one | Remove-Vm -Confirm:$false
            Get-Vm -Name 'bind-*' | Should -BeNullOrEmpty
        }
    }
}

Describe 'Host directory shares' {
    It 'New-Vm -Share shows the host directory in the guest, read-only with :ro' -Skip:$NoQemu {
        $data = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'share-data') -Force
        Set-Content -Path (Join-Path $data 'hello.txt') -Value 'from the host'
        try {
            New-Vm -Name share-demo -Share "$($data.FullName):/data", "$($data.FullName):/view:ro" | Start-Vm
            (Invoke-VmCommand -Name share-demo { cat /data/hello.txt; echo from the guest > /data/back.txt }).ExitCode | Should -Be 0
            Get-Content -Path (Join-Path $data 'back.txt') | Should -Be 'from the guest'
            $refused = Invoke-VmCommand -Name share-demo { echo x > /view/new.txt }
            $refused.ExitCode | Should -Not -Be 0
            $refused.Stderr | Should -Match 'Read-only'
        }
        finally {
            Remove-Vm -Name share-demo -Force -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Quick start' {
    It 'boots busybox and runs uname -r in it' -Skip:$NoQemu {
        $result = New-Vm -Name demo -Image busybox | Start-Vm -PassThru | Invoke-VmCommand -Command uname, -r
        $result.PSObject.TypeNames | Should -Contain 'VmPs.VmCommandResult'
        $result.VmName | Should -Be 'demo'
        $result.ExitCode | Should -Be 0
        $result.Stdout.Trim() | Should -Be (Get-VmHost).DefaultKernel.Version
        (Get-Vm -Name demo).State | Should -Be 'Running'
    }

    It 'runs a script block in the guest shell and reports stderr and the exit code' -Skip:$NoQemu {
        $result = Get-Vm -Name demo | Invoke-VmCommand { cat /no-such-file; exit 3 }
        $result.ExitCode | Should -Be 3
        $result.Stderr | Should -Match '/no-such-file'
        $result.Succeeded | Should -BeFalse
    }

    It 'passes environment variables and the working directory to the command' -Skip:$NoQemu {
        $result = Invoke-VmCommand -Name demo -Command sh, -c, 'echo "$GREETING"; pwd' -Environment @{ GREETING = 'hello' } -WorkingDirectory /tmp
        $result.ExitCode | Should -Be 0
        ($result.Stdout -split "`n")[0..1] | Should -Be @('hello', '/tmp')
    }

    It 'refuses to start a running VM' -Skip:$NoQemu {
        $errors = Get-VmError { Start-Vm -Name demo }
        $errors[0].FullyQualifiedErrorId | Should -Be 'VmAlreadyRunning,VmPs.PowerShell.Commands.StartVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'Restart-Vm boots the running VM afresh in a new hypervisor and refuses a stopped VM, under -WhatIf too' -Skip:$NoQemu {
        $bootId = { (Invoke-VmCommand -Name demo -Command cat, /proc/sys/kernel/random/boot_id).Stdout.Trim() }
        $before = Get-Vm -Name demo
        $firstBoot = & $bootId

        Restart-Vm -Name demo -WhatIf
        & $bootId | Should -Be $firstBoot

        $restarted = Get-Vm -Name demo | Restart-Vm -PassThru
        $restarted.State | Should -Be 'Running'
        $restarted.ProcessId | Should -Not -Be $before.ProcessId
        $restarted.IPAddress | Should -Be $before.IPAddress
        $secondBoot = & $bootId
        $secondBoot | Should -Not -Be $firstBoot

        # -TurnOff resets without a shutdown; in a job of its own type, as every long operation.
        $job = Restart-Vm -Name demo -TurnOff -AsJob -PassThru
        $job.PSJobTypeName | Should -Be 'RestartVmJob'
        ($job | Wait-Job -Timeout 180 | Receive-Job).State | Should -Be 'Running'
        $job.State | Should -Be 'Completed'
        & $bootId | Should -Not -BeIn @($firstBoot, $secondBoot)

        New-Vm -Name restart-stopped | Out-Null
        try {
            foreach ($whatIf in $false, $true) {
                $errors = Get-VmError { Restart-Vm -Name restart-stopped -WhatIf:$whatIf }
                $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotRunning,VmPs.PowerShell.Commands.RestartVmCommand'
                $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
                $errors[0].TargetObject | Should -Be 'restart-stopped'
            }
            (Get-Vm -Name restart-stopped).State | Should -Be 'Stopped'
        }
        finally {
            Remove-Vm -Name restart-stopped -Confirm:$false
        }
    }

    It 'Stop-Vm -Force shuts the guest down, which powers itself off, without waiting on its programs' -Skip:$NoQemu {
        $vm = Stop-Vm -Name demo -Force -PassThru
        $vm.State | Should -Be 'Stopped'
        $vm.ProcessId | Should -BeNullOrEmpty
        (Get-VmLog -Name demo -Source Console | Out-String) | Should -Match 'poweroff reason=shutdown-requested'
    }

    It 'a VM started by another pwsh session outlives it' -Skip:$NoQemu {
        $pwsh = Join-Path $PSHOME 'pwsh'  # the process is dotnet when pwsh is a .NET global tool
        & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$RepoRoot/out/VmPs'; Start-Vm -Name demo -ErrorAction Stop" | Out-Null
        $LASTEXITCODE | Should -Be 0

        (Get-Vm -Name demo).State | Should -Be 'Running'
        (Invoke-VmCommand -Name demo -Command true).ExitCode | Should -Be 0

        # QEMU's microvm hot-plugs neither vCPUs nor memory: Set-Vm on the running VM says to stop it first, under -WhatIf too.
        foreach ($change in @{ Cpus = 2 }, @{ MemoryMB = 640 }, @{ Cpus = 2; MemoryMB = 512 }) {
            foreach ($whatIf in $false, $true) {
                $errors = Get-VmError { Set-Vm -Name demo @change -WhatIf:$whatIf }
                $errors[0].FullyQualifiedErrorId | Should -Be 'VmResizeNeedsStop,VmPs.PowerShell.Commands.SetVmCommand'
                $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
                $errors[0].TargetObject | Should -Be 'demo'
                $errors[0].Exception.Message | Should -Match "runs on QEMU \(microvm\), which does not support changing the (vCPUs|memory) of a running VM.*: stop the VM first"
            }
        }
        # Asking for what it has is no change, and no error.
        Set-Vm -Name demo -Cpus 1 -PassThru | ForEach-Object Cpus | Should -Be 1
        (Get-Vm -Name demo).Cpus | Should -Be 1

        # -MetadataOptions changes the running VM's metadata service at once: IMDSv1 (busybox wget sends no token) gets 401.
        $imdsV1 = { (Invoke-VmCommand -Name demo -Command sh, -c, 'wget -qO- http://169.254.169.254/latest/meta-data/instance-id').ExitCode }
        & $imdsV1 | Should -Be 0
        (Set-Vm -Name demo -MetadataOptions @{ HttpTokens = 'required' } -PassThru).MetadataHttpTokens | Should -Be 'Required'
        & $imdsV1 | Should -Not -Be 0
        Set-Vm -Name demo -MetadataOptions @{ HttpTokens = 'optional' }
        & $imdsV1 | Should -Be 0

        # -TurnOff pulls the power: the hypervisor is killed and the guest writes no poweroff line.
        $powerOffs = { [regex]::Matches((Get-VmLog -Name demo -Source Console | Out-String), 'poweroff reason=').Count }
        $before = & $powerOffs
        (Stop-Vm -Name demo -TurnOff -PassThru).State | Should -Be 'Stopped'
        & $powerOffs | Should -Be $before
    }

    It 'Start-Vm -NoWait returns once the hypervisor runs' -Skip:$NoQemu {
        $vm = Start-Vm -Name demo -NoWait -PassThru
        $vm.State | Should -BeIn @('Starting', 'Running')
        $vm.ProcessId | Should -Not -BeNullOrEmpty
    }

    It 'Ctrl+C during Start-Vm stops the boot and leaves no hypervisor running' -Skip:$NoQemu {
        New-Vm -Name cancel-me | Out-Null
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript("Import-Module '$RepoRoot/out/VmPs'; Start-Vm -Name cancel-me")
            $invocation = $shell.BeginInvoke()
            # Stop once the hypervisor runs: the point where cancelling has the most to undo.
            $deadline = [datetime]::UtcNow.AddMinutes(2)
            while (-not $invocation.IsCompleted -and [datetime]::UtcNow -lt $deadline -and
                   -not ($shell.Streams.Progress | Where-Object StatusDescription -like 'Waiting for the guest agent*')) {
                Start-Sleep -Milliseconds 20
            }
            $invocation.IsCompleted | Should -BeFalse -Because 'Start-Vm should still be waiting for the agent'
            $shell.Stop()
            $stoppedWith = $null
            try { $shell.EndInvoke($invocation) } catch { $stoppedWith = $_.Exception.InnerException }
            $stoppedWith | Should -BeOfType ([System.Management.Automation.PipelineStoppedException])
        }
        finally {
            $shell.Dispose()
        }

        $vm = Get-Vm -Name cancel-me
        $vm.State | Should -Be 'Stopped'
        $vm.StatusDetail | Should -Be 'The start was cancelled.'
        $vm.ProcessId | Should -BeNullOrEmpty
        Remove-Vm -Name cancel-me -Confirm:$false
    }

    It 'stops and removes every VM' -Skip:$NoQemu {
        $stopped = Get-Vm | Stop-Vm -PassThru -TimeoutSec 20
        $stopped.State | Should -Be 'Stopped'
        $stopped | Remove-Vm -Confirm:$false
        Get-Vm | Should -BeNullOrEmpty
    }
}
