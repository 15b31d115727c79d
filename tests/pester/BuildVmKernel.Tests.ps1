#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Build-VmKernel and Get-VmHost with a built VmPs kernel: a state directory of the test's own gets a copy of the
# machine's test kernel, the one the xunit kernel tests build once per machine and cache (VmPsTestKernel:
# $env:VMPS_TEST_KERNEL_HOME, by default /var/cache/vmps-test-kernel; tests/run runs them before these). Nothing
# here compiles a kernel; the build itself is tested by the xunit kernel tests.

BeforeDiscovery {
    $MachineKernelHome = if ($env:VMPS_TEST_KERNEL_HOME) { $env:VMPS_TEST_KERNEL_HOME } else { '/var/cache/vmps-test-kernel' }
    $NoMachineKernel = -not (Test-Path -LiteralPath (Join-Path $MachineKernelHome 'kernels/current/kernel.json'))
    if ($NoMachineKernel) {
        Write-Host "Build-VmKernel tests skipped: no VmPs test kernel cached in $MachineKernelHome (the xunit kernel tests build it; apt-get install linux-source-6.1)"
    }
}

Describe 'Build-VmKernel' -Skip:$NoMachineKernel {
    BeforeAll {
        $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
        $script:PreviousHome = $env:VMPS_HOME
        $machineKernelHome = if ($env:VMPS_TEST_KERNEL_HOME) { $env:VMPS_TEST_KERNEL_HOME } else { '/var/cache/vmps-test-kernel' }
        $current = Get-Item -LiteralPath (Join-Path $machineKernelHome 'kernels/current')
        $key = Split-Path -Leaf $current.LinkTarget
        # The copy is published as Build-VmKernel publishes: the entry under its key and the current link to it.
        # A short name, so the kernel's path fits on one line of Get-VmHost's 80-column view.
        $script:KernelHome = Join-Path ([IO.Path]::GetTempPath()) "vmps-k-$([guid]::NewGuid().ToString('n').Substring(0, 12))"
        $kernels = Join-Path $KernelHome 'kernels'
        $private = [IO.UnixFileMode]'UserRead, UserWrite, UserExecute'
        foreach ($directory in $KernelHome, $kernels, (Join-Path $kernels $key)) {
            $null = [IO.Directory]::CreateDirectory($directory, $private)
        }
        Copy-Item -Path (Join-Path $current.FullName '*') -Destination (Join-Path $kernels $key)
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $kernels 'current') -Target $key
        $env:VMPS_HOME = $KernelHome
        Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop
        $script:Kernel = (Get-VmHost).VmPsKernel
    }

    AfterAll {
        Remove-Module VmPs -ErrorAction SilentlyContinue
        $env:VMPS_HOME = $PreviousHome
        Remove-Item -LiteralPath $KernelHome -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'Get-VmHost shows both kernels and that new VMs get the VmPs kernel' {
        $report = Get-VmHost
        $report.VmPsKernel.Release | Should -Match '-vmps$'
        $report.DefaultKernel.Path | Should -Be $report.VmPsKernel.BzImagePath
        $report.DefaultKernel.VmlinuxPath | Should -Be $report.VmPsKernel.VmlinuxPath
        $report.DistroKernel.Path | Should -BeLike '/boot/vmlinuz-*'
        $text = $report | Format-List | Out-String -Width 80
        $text | Should -Match "DefaultKernel\s*: VmPs kernel $([regex]::Escape($Kernel.Release))"
        $text | Should -Match "VmPsKernel\s*: $([regex]::Escape($Kernel.Directory))"
        $text | Should -Match 'DistroKernel\s*: /boot/vmlinuz-'
    }

    It 'finds the cached kernel, outputs it without building, in a view that fits 80 columns' {
        $kernel = Build-VmKernel -Confirm:$false
        $kernel.PSObject.TypeNames | Should -Contain 'VmPs.VmKernel'
        $kernel.Key | Should -Be $Kernel.Key
        $kernel.BuiltAt | Should -Be $Kernel.BuiltAt
        $table = $kernel | Format-Table | Out-String -Width 200
        $table | Should -Match ([regex]::Escape($Kernel.Release))
        $table -split "`n" | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It '-WhatIf changes nothing and outputs nothing' {
        Build-VmKernel -Force -WhatIf | Should -BeNullOrEmpty
        (Get-VmHost).VmPsKernel.BuiltAt | Should -Be $Kernel.BuiltAt
    }

    It '-AsJob runs in a VmKernelBuildJob whose output is the kernel' {
        $job = Build-VmKernel -AsJob -Confirm:$false
        $job.PSJobTypeName | Should -Be 'VmKernelBuildJob'
        $result = $job | Receive-Job -Wait -AutoRemoveJob
        $result.Key | Should -Be $Kernel.Key
    }

    It 'a build that fails in a job says why and keeps the previous kernel' {
        $broken = Join-Path $TestDrive 'linux-source-broken.tar.xz'
        Set-Content -LiteralPath $broken -Value 'not an xz stream'
        $job = Build-VmKernel -SourcePath $broken -AsJob -Confirm:$false
        $null = $job | Wait-Job -Timeout 600
        $job.State | Should -Be 'Failed'
        $job | Receive-Job -ErrorVariable failures -ErrorAction SilentlyContinue
        Remove-Job $job
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'KernelBuildFailed*'
        $failures[0].Exception.Message | Should -Match 'while extracting'
        $failures[0].Exception.Message | Should -Match ([regex]::Escape("The previous VmPs kernel ($($Kernel.Release)"))
        (Get-VmHost).VmPsKernel.Key | Should -Be $Kernel.Key
    }

    It 'a missing source is an ObjectNotFound error naming the path' {
        $failure = { Build-VmKernel -SourcePath /nonexistent/linux-source.tar.xz } | Should -Throw -PassThru
        $failure.FullyQualifiedErrorId | Should -Be 'KernelSourceNotFound,VmPs.PowerShell.Commands.BuildVmKernelCommand'
        $failure.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failure.TargetObject | Should -Be '/nonexistent/linux-source.tar.xz'
    }

    It 'an invalid config fragment is an InvalidData error naming its line' {
        $fragment = Join-Path $TestDrive 'extra.config'
        Set-Content -LiteralPath $fragment -Value "CONFIG_IPV6=n`nVIRTIO=y"
        $failure = { Build-VmKernel -ConfigPath $fragment } | Should -Throw -PassThru
        $failure.FullyQualifiedErrorId | Should -Be 'KernelConfigInvalid,VmPs.PowerShell.Commands.BuildVmKernelCommand'
        $failure.CategoryInfo.Category | Should -Be 'InvalidData'
        $failure.Exception.Message | Should -Match 'Line 2'
    }
}
