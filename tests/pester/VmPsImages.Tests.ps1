#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the image cmdlets (New-VmImage, Get-VmImage, Remove-VmImage), run against the built module
# folder. The test image is an OCI image layout that umoci builds from the host's busybox-static.

BeforeDiscovery {
    $NoImageTools = -not ((Get-Command umoci -ErrorAction Ignore) -and (Get-Command mkfs.erofs -ErrorAction Ignore) -and (Test-Path /bin/busybox))
    $NoQemuImg = -not (Get-Command qemu-img -ErrorAction Ignore)
    $NoIsoInstall = -not ((Get-Command xorriso -ErrorAction Ignore) -and (Test-Path /usr/share/OVMF/OVMF_CODE_4M.fd))
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-images-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop

    # Get-VmError and New-TestImageLayout.
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

AfterAll {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module VmPs -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME
}

Describe 'Image cmdlet errors' {
    It 'Get-VmImage of an unknown name is a non-terminating ObjectNotFound error' {
        $errors = Get-VmError { Get-VmImage -Name nosuchimage }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,VmPs.PowerShell.Commands.GetVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be 'nosuchimage'
    }

    It 'New-VmImage with an invalid reference is InvalidArgument' {
        $errors = Get-VmError { New-VmImage 'Not A Reference!' }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageReferenceInvalid,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'New-VmImage of a path that does not exist names it' {
        $errors = Get-VmError { New-VmImage -Path ./no-such-layout }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageSourceNotFound,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].TargetObject | Should -Be (Join-Path (Get-Location).Path 'no-such-layout')
    }
}

Describe 'Clear-VmImageCache' {
    It 'lists under -WhatIf, then removes an interrupted download and the staging tree of a killed add' {
        $blobs = Join-Path $StateDirectory 'cache/blobs/sha256'
        New-Item -ItemType Directory -Path $blobs -Force | Out-Null
        $partial = Join-Path $blobs (('a' * 64) + '.partial')
        Set-Content -LiteralPath $partial -Value 'half a download'
        $staging = Join-Path $StateDirectory ('images/.pull-' + ('b' * 32))
        New-Item -ItemType Directory -Path (Join-Path $staging 'rootfs/etc') -Force | Out-Null

        Clear-VmImageCache -WhatIf -PassThru | Should -BeNullOrEmpty

        Test-Path -LiteralPath $partial | Should -BeTrue
        Test-Path -LiteralPath $staging | Should -BeTrue
        $removed = Clear-VmImageCache -Confirm:$false -PassThru
        @($removed | Sort-Object Kind | ForEach-Object Kind) | Should -Be @('PartialDownload', 'StagingTree')
        ($removed | Format-Table | Out-String -Width 80) | Should -Match 'PartialDownload'
        Test-Path -LiteralPath $partial | Should -BeFalse
        Test-Path -LiteralPath $staging | Should -BeFalse
    }

    It 'Remove-VmImage -Prune under -WhatIf removes nothing' {
        { Remove-VmImage -Prune -WhatIf } | Should -Not -Throw
    }
}

Describe 'An image from an OCI layout' -Skip:$NoImageTools {
    BeforeAll {
        $script:Work = New-Item -ItemType Directory -Path (Join-Path $StateDirectory 'work') -Force
        $script:Layout = New-TestImageLayout $Work.FullName
        $script:Image = New-VmImage -Path $Layout -Tag v1 -Name pester-img
    }

    It 'New-VmImage -WhatIf creates nothing' {
        New-VmImage -Path $Layout -Tag v1 -Name whatif-img -WhatIf
        Get-VmImage -Name whatif-img -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'New-VmImage returns a VmPs.VmImage with the image config' {
        $Image.PSObject.TypeNames | Should -Contain 'VmPs.VmImage'
        $Image.Name | Should -Be 'pester-img'
        $Image.Format | Should -Be 'Erofs'
        $Image.InitMode | Should -Be 'Exec'
        $Image.Entrypoint | Should -Be @('/bin/sh')
        $Image.Digest | Should -Match '^sha256:[0-9a-f]{64}$'
        $Image.SizeMB | Should -BeGreaterThan 0
    }

    It 'Get-VmImage finds it by wildcard and shows the table view' {
        (Get-VmImage -Name 'PESTER-*').Name | Should -Be 'pester-img'
        Get-VmImage | Out-String | Should -Match 'pester-img\s+.*Erofs\s+Exec'
    }

    It 'completes image names from the store' {
        $line = 'New-Vm -Name x -Image pester-'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'pester-img'
    }

    It 'New-VmImage -AsJob builds in a NewVmImageJob whose output is the image and whose verbose lines time each step' {
        $job = New-VmImage -Path $Layout -Tag v1 -Name job-img -AsJob
        $job.PSJobTypeName | Should -Be 'NewVmImageJob'
        $null = $job | Wait-Job -Timeout 300
        $job.State | Should -Be 'Completed'
        # Read before Receive-Job, which takes the records out of the job's streams.
        $steps = @($job.ChildJobs.Verbose.Message)
        $image = $job | Receive-Job
        $image.Name | Should -Be 'job-img'
        $image.PSObject.TypeNames | Should -Contain 'VmPs.VmImage'
        $steps.Count | Should -BeGreaterThan 2 -Because 'each step is a line, then the total'
        $steps[0..($steps.Count - 2)] | Should -Match '^New-VmImage .+: .+ \(\d+\.\d{3} s\)$'
        $steps[-1] | Should -Match '^New-VmImage .+: done in \d+\.\d{3} s$'
        Remove-VmImage -Name job-img -Confirm:$false
    }

    It 'New-VmImage -Verbose reports the same steps with their timings' {
        $records = New-VmImage -Path $Layout -Tag v1 -Name verbose-img -Verbose 4>&1
        $steps = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message | Where-Object { $_ -like 'New-VmImage *' })
        $steps.Count | Should -BeGreaterThan 2
        $steps[-1] | Should -Match 'done in \d+\.\d{3} s$'
        ($steps | Select-Object -SkipLast 1) -join "`n" | Should -Match '\(\d+\.\d{3} s\)'
        Remove-VmImage -Name verbose-img -Confirm:$false
    }

    It 'adding another image under the name is ImageNameInUse' {
        $errors = Get-VmError { New-VmImage -Path $Layout -Tag v1 -Name pester-img -Format Ext4 }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageNameInUse,VmPs.PowerShell.Commands.NewVmImageCommand'
    }

    It 'Remove-VmImage refuses while a VM uses the image, then removes it' {
        New-Vm -Name uses-image -Image pester-img | Out-Null
        $errors = Get-VmError { Remove-VmImage -Name pester-img -Confirm:$false }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageInUse,VmPs.PowerShell.Commands.RemoveVmImageCommand'
        Get-VmImage -Name pester-img | Should -Not -BeNullOrEmpty

        Remove-Vm -Name uses-image -Confirm:$false
        Get-VmImage -Name pester-img | Remove-VmImage -Confirm:$false
        Get-VmImage -Name 'pester-*' | Should -BeNullOrEmpty
    }
}

Describe 'A disk image' -Skip:$NoQemuImg {
    BeforeAll {
        $script:DiskDirectory = Join-Path $StateDirectory 'disks'
        New-Item -ItemType Directory -Path $DiskDirectory | Out-Null
        # A raw disk with an MBR boot signature, and that disk as qcow2, both made by qemu-img.
        $raw = Join-Path $DiskDirectory 'cloud.raw'
        qemu-img create -q -f raw $raw 4M
        $stream = [IO.File]::OpenWrite($raw)
        $stream.Position = 510
        $stream.Write([byte[]](0x55, 0xAA), 0, 2)
        $stream.Dispose()
        $script:Qcow2 = Join-Path $DiskDirectory 'cloud.qcow2'
        qemu-img convert -q -f raw -O qcow2 $raw $Qcow2
        $script:Hostile = Join-Path $DiskDirectory 'hostile.qcow2'
        qemu-img create -q -f qcow2 -b /etc/shadow -F raw $Hostile 4M
    }

    It 'New-VmImage -Path x.qcow2 imports it as a UEFI disk that Get-VmImage shows' {
        $image = New-VmImage -Path $Qcow2 -Name cloud
        $image.Kind | Should -Be 'Disk'
        $image.Format | Should -Be 'Qcow2'
        $image.Firmware | Should -Be 'Uefi'
        $image.VirtualSizeBytes | Should -Be 4MB
        $table = Get-VmImage cloud | Format-Table | Out-String -Width 80
        $table | Should -Match 'cloud\s+Disk\s+Qcow2\s+Uefi'
    }

    It 'New-VmImage -Firmware Bios names the firmware; the name defaults to the file name' {
        $legacy = Join-Path $DiskDirectory 'legacy-disk.img'
        Copy-Item (Join-Path $DiskDirectory 'cloud.raw') $legacy
        $image = New-VmImage -Path $legacy -Firmware Bios
        $image.Name | Should -Be 'legacy-disk'
        $image.Format | Should -Be 'Raw'
        $image.Firmware | Should -Be 'Bios'
    }

    It 'a qcow2 with a backing file is PermissionDenied BackingFileRefused and leaves no image' {
        $errors = Get-VmError { New-VmImage -Path $Hostile -Name hostile }
        $errors[0].FullyQualifiedErrorId | Should -Be 'BackingFileRefused,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errors[0].TargetObject | Should -Be $Hostile
        Get-VmImage hostile -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It '-InitMode with a disk image, or -Firmware with an OCI archive, is ImageParameterNotApplicable' {
        $errors = Get-VmError { New-VmImage -Path $Qcow2 -Name other -InitMode Exec }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageParameterNotApplicable,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors = Get-VmError { New-VmImage -Path $DiskDirectory -Name layout -Firmware Uefi }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageParameterNotApplicable,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'New-Vm from it takes -UserData from a file and refuses user data over 16 KiB with LimitsExceeded' -Skip:(-not (Test-Path /usr/share/OVMF/OVMF_CODE_4M.fd)) {
        $userData = Join-Path $DiskDirectory 'init.sh'
        Set-Content -Path $userData -Value "#!/bin/sh`necho from-a-file > /run/marker" -NoNewline
        $key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs55EeuyPSGqiGsDwMxZ3+VQ51sAAvNh50sies9uPlA pester'
        $vm = New-Vm -Name full -Image cloud -DiskSizeGB 1 -UserData $userData -SshPublicKey $key
        $vm.MachineType | Should -Be 'Q35'
        $kept = Get-Content -Raw (Join-Path $vm.Directory 'user-data.json') | ConvertFrom-Json
        $kept.UserData | Should -BeExactly "#!/bin/sh`necho from-a-file > /run/marker"
        $kept.SshPublicKeys | Should -Be @($key)

        $large = Join-Path $DiskDirectory 'large.sh'
        Set-Content -Path $large -Value ("#!/bin/sh`n" + ('#' * 16400)) -NoNewline
        $errors = Get-VmError { New-Vm -Name too-large -Image cloud -DiskSizeGB 1 -UserData $large }
        $errors[0].FullyQualifiedErrorId | Should -Be 'UserDataTooLarge,VmPs.PowerShell.Commands.NewVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $errors = Get-VmError { New-Vm -Name inline -Image cloud -DiskSizeGB 1 -UserData 'not a script' }
        $errors[0].FullyQualifiedErrorId | Should -Be 'UserDataInvalid,VmPs.PowerShell.Commands.NewVmCommand'
        Get-Vm -Name too-large, inline -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Remove-Vm full -Force
    }
}

Describe 'An ISO install' -Skip:$NoIsoInstall {
    BeforeAll {
        $script:IsoDirectory = Join-Path $StateDirectory 'iso'
        New-Item -ItemType Directory -Path (Join-Path $IsoDirectory 'tree') | Out-Null
        Set-Content -Path (Join-Path $IsoDirectory 'tree/README') -Value 'an installer'
        $script:Iso = Join-Path $IsoDirectory 'installer.iso'
        xorriso -as mkisofs -quiet -V INSTALLER -o $Iso (Join-Path $IsoDirectory 'tree') 2>$null
        $script:NotIso = Join-Path $IsoDirectory 'notes.iso'
        Set-Content -Path $NotIso -Value 'not a disc'
    }

    It 'New-Vm -IsoPath (relative) makes a VM of the blank disk; Get-Vm shows its ISO and Get-VmImage the blank image' {
        Push-Location $IsoDirectory
        try { $vm = New-Vm -Name inst -IsoPath ./installer.iso -DiskSizeGB 20 }
        finally { Pop-Location }
        $vm.Image | Should -Be 'blank-uefi'
        $vm.IsoPath | Should -Be $Iso
        $vm.DiskSizeGiB | Should -Be 20
        $vm.MachineType | Should -Be 'Q35'
        Get-Vm inst | Format-List | Out-String -Width 200 | Should -Match "IsoPath\s+: $([regex]::Escape($Iso))"
        $blank = Get-VmImage blank-uefi
        $blank.Kind | Should -Be 'Disk'
        $blank.Firmware | Should -Be 'Uefi'
        $blank.Reference | Should -Be 'builtin:blank-uefi'
        (New-Vm -Name legacy -IsoPath $Iso -Firmware Bios).Image | Should -Be 'blank-bios'
        Remove-Vm inst, legacy -Force
    }

    It 'a missing path, a directory, a file that is no ISO, -Image with it and -Firmware without it are each their own error' {
        $cases = @(
            @{ Run = { New-Vm -Name bad -IsoPath (Join-Path $IsoDirectory 'nope.iso') }; Id = 'IsoNotFound'; Category = 'ObjectNotFound'; Target = (Join-Path $IsoDirectory 'nope.iso') }
            @{ Run = { New-Vm -Name bad -IsoPath $IsoDirectory }; Id = 'IsoPathIsDirectory'; Category = 'InvalidArgument'; Target = $IsoDirectory }
            @{ Run = { New-Vm -Name bad -IsoPath $NotIso }; Id = 'IsoNotIso9660'; Category = 'InvalidData'; Target = $NotIso }
            @{ Run = { New-Vm -Name bad -IsoPath $Iso -Image busybox }; Id = 'IsoPathWithImage'; Category = 'InvalidArgument'; Target = 'bad' }
            @{ Run = { New-Vm -Name bad -Firmware Bios }; Id = 'FirmwareNeedsIsoPath'; Category = 'InvalidArgument'; Target = 'bad' }
        )
        foreach ($case in $cases) {
            $errors = Get-VmError $case.Run
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -Be "$($case.Id),VmPs.PowerShell.Commands.NewVmCommand"
            $errors[0].CategoryInfo.Category | Should -Be $case.Category
            $errors[0].TargetObject | Should -Be $case.Target
        }
        Get-Vm -Name bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'Set-Vm -IsoPath (relative) changes a stopped VM''s ISO, $null ejects it, -WhatIf changes nothing; a VM without a drive is refused' {
        New-Vm -Name swap -IsoPath $Iso | Out-Null
        $other = Join-Path $IsoDirectory 'other.iso'
        Copy-Item $Iso $other
        Set-Vm swap -IsoPath $other -WhatIf
        (Get-Vm swap).IsoPath | Should -Be $Iso
        Push-Location $IsoDirectory
        try { (Set-Vm swap -IsoPath ./other.iso -PassThru).IsoPath | Should -Be $other }
        finally { Pop-Location }
        $ejected = Set-Vm swap -IsoPath $null -PassThru
        $ejected.IsoPath | Should -BeNullOrEmpty
        $ejected.Image | Should -Be 'blank-uefi'
        Export-VmSpec swap | Should -Match 'image: blank-uefi'
        (Get-Vm swap | Set-Vm -IsoPath $Iso -PassThru).IsoPath | Should -Be $Iso
        $errors = Get-VmError { Set-Vm swap -IsoPath $NotIso }
        $errors[0].FullyQualifiedErrorId | Should -Be 'IsoNotIso9660,VmPs.PowerShell.Commands.SetVmCommand'
        $errors[0].TargetObject | Should -Be $NotIso
        New-Vm -Name direct -Image busybox | Out-Null
        $errors = Get-VmError { Set-Vm direct -IsoPath $Iso }
        $errors[0].FullyQualifiedErrorId | Should -Be 'IsoPathNeedsDiskImage,VmPs.PowerShell.Commands.SetVmCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $errors[0].TargetObject | Should -Be 'direct'
        (Get-Vm swap).IsoPath | Should -Be $Iso
        Remove-Vm swap, direct -Force
        Remove-Item $other
    }

    It 'New-VmImage -FromVm without -Name, or of a VM that does not exist, makes no image' {
        New-Vm -Name stopped -IsoPath $Iso | Out-Null
        $errors = Get-VmError { New-VmImage -FromVm stopped }
        $errors[0].FullyQualifiedErrorId | Should -Be 'ImageNameRequired,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].TargetObject | Should -Be 'stopped'
        $errors = Get-VmError { New-VmImage -FromVm nosuchvm -Name template }
        $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.NewVmImageCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-VmImage template -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Remove-Vm stopped -Force
    }
}
