#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the user cmdlets (New-/Get-/Set-/Remove-VmUser, Add-/Remove-VmUserKey, Set-VmQuota, New-VmUserToken,
# Grant-/Revoke-VmAccess) and of -Owner on New-Vm, New-VmVolume and New-VmImage, against the built module folder.
# No VM boots: owners and quotas are checked when the VM or volume is stored.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose users
    $script:KeyDirectory = Join-Path $StateDirectory 'keys'
    New-Item -ItemType Directory -Path $KeyDirectory | Out-Null
    foreach ($name in 'one', 'two') {
        ssh-keygen -q -t ed25519 -N '' -C $name -f (Join-Path $KeyDirectory $name)
    }
    $script:KeyOne = Get-Content (Join-Path $KeyDirectory 'one.pub')
    $script:KeyTwo = Get-Content (Join-Path $KeyDirectory 'two.pub')
    $script:FingerprintOne = ((ssh-keygen -l -f (Join-Path $KeyDirectory 'one.pub')) -split ' ')[1]
}

AfterAll {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -ErrorAction SilentlyContinue
    Get-VmVolume -ErrorAction SilentlyContinue | Remove-VmVolume -Force -ErrorAction SilentlyContinue
    Clear-VmPsTestState
}

Describe 'Users and keys' {
    It 'New-VmUser creates a user with its key; Get-VmUser finds it case-insensitively' {
        $alice = New-VmUser alice alice@example.test -SshPublicKey $KeyOne
        $alice.Name | Should -Be 'alice'
        $alice.SshKeys.Fingerprint | Should -Be $FingerprintOne
        (Get-VmUser ALICE).Email | Should -Be 'alice@example.test'
        @(Get-VmUser a*).Name | Should -Be @('alice')
    }

    It 'a taken name, a taken address, a taken key and a bad address are specific errors and store nothing' -ForEach @(
        @{ Arguments = @{ Name = 'Alice'; Email = 'other@example.test' }; ErrorId = 'UserNameInUse' }
        @{ Arguments = @{ Name = 'carol'; Email = 'ALICE@example.test' }; ErrorId = 'UserEmailInUse' }
        @{ Arguments = @{ Name = 'carol'; Email = 'carol@example.test'; SshPublicKey = 'KEYONE' }; ErrorId = 'SshKeyInUse' }
        @{ Arguments = @{ Name = 'carol'; Email = 'carol at example' }; ErrorId = 'InvalidEmail' }
        @{ Arguments = @{ Name = '-carol'; Email = 'carol@example.test' }; ErrorId = 'InvalidUserName' }
    ) {
        if ($Arguments.SshPublicKey) { $Arguments.SshPublicKey = $KeyOne }
        $errors = Get-VmError { New-VmUser @Arguments }
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        @(Get-VmUser).Name | Should -Be @('alice')
    }

    It 'New-VmUser -WhatIf checks and stores nothing' {
        New-VmUser bob bob@example.test -WhatIf
        Get-VmError { Get-VmUser bob } | ForEach-Object FullyQualifiedErrorId | Should -BeLike 'UserNotFound,*'
        (Get-VmError { New-VmUser alice x@example.test -WhatIf }).FullyQualifiedErrorId | Should -BeLike 'UserNameInUse,*'
    }

    It 'Add-VmUserKey takes keys from the pipeline; Remove-VmUserKey removes by fingerprint or as piped key objects' {
        $added = $KeyTwo | Add-VmUserKey -User alice
        $added.User | Should -Be 'alice'
        (Get-VmUser alice).SshKeys.Count | Should -Be 2
        Remove-VmUserKey alice $FingerprintOne
        (Get-VmUser alice).SshKeys.Fingerprint | Should -Be $added.Fingerprint
        (Get-VmError { Remove-VmUserKey alice $FingerprintOne }).FullyQualifiedErrorId | Should -BeLike 'SshKeyNotFound,*'
        (Get-VmUser alice).SshKeys | Remove-VmUserKey
        (Get-VmUser alice).SshKeys | Should -BeNullOrEmpty
        (Get-VmError { Add-VmUserKey alice 'ssh-ed25519 AAAA command="x"' }).FullyQualifiedErrorId | Should -Not -BeNullOrEmpty
    }

    It 'Set-VmUser renames and changes the address, keeping what the user has' {
        $key = Add-VmUserKey alice $KeyOne
        Set-VmUser alice -NewName alicia -Email alicia@example.test -PassThru | ForEach-Object Name | Should -Be 'alicia'
        (Get-VmUser alicia).SshKeys.Fingerprint | Should -Be $key.Fingerprint
        Get-VmUser alicia | Set-VmUser -NewName alice
        (Get-VmUser alice).Email | Should -Be 'alicia@example.test'
    }

    It 'Get-VmUser shows use and limits within 80 columns' {
        $text = Get-VmUser alice | Format-Table | Out-String -Width 80
        $text | Should -Match 'alice\s+alicia@example.test\s+0/-'
        ($text -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
    }
}

Describe 'Tokens' {
    It 'New-VmUserToken shows the token once and keeps only its hash' {
        $token = New-VmUserToken alice
        $token.Token | Should -Match '^vmps_[A-Za-z0-9_-]{43}$'
        (Get-VmUser alice).TokenCount | Should -Be 1
        $database = Join-Path $StateDirectory 'state.db'
        [IO.File]::ReadAllText($database) | Should -Not -Match ([regex]::Escape($token.Token))
        ($token | Format-Table | Out-String -Width 80) | Should -Match ([regex]::Escape($token.Token))
    }
}

Describe 'Ownership, quotas and grants' {
    It 'New-Vm -Owner and New-VmVolume -Owner store the owner; an unknown owner is refused before anything is made' {
        New-Vm -Name owned -Owner ALICE -DiskSizeGB 1 | ForEach-Object Owner | Should -Be 'alice'
        (Get-Vm owned).Owner | Should -Be 'alice'
        New-VmVolume -Name ownedvol -SizeGB 1 -Owner alice | ForEach-Object Owner | Should -Be 'alice'
        (Get-VmVolume ownedvol | Format-Table | Out-String -Width 80) | Should -Match 'ownedvol\s+alice'
        (Get-VmError { New-Vm -Name nobodys -Owner nobody }).FullyQualifiedErrorId | Should -BeLike 'UserNotFound,*'
        (Get-VmError { New-VmVolume -Name nobodys -SizeGB 1 -Owner nobody }).FullyQualifiedErrorId | Should -BeLike 'UserNotFound,*'
        Get-Vm nobodys -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-VmImage busybox).Owner | Should -BeNullOrEmpty
    }

    It 'New-VmImage -Owner stores the owner; an unknown owner is refused before the pull' {
        $layout = New-TestImageLayout (Join-Path $StateDirectory 'layout')
        (New-VmImage -Path $layout -Tag v1 -Name aliceimage -Owner alice).Owner | Should -Be 'alice'
        (Get-VmImage aliceimage).Owner | Should -Be 'alice'
        (Get-VmError { New-VmImage -Path $layout -Tag v1 -Name nobodysimage -Owner nobody }).FullyQualifiedErrorId | Should -BeLike 'UserNotFound,*'
    }

    It 'Set-VmQuota sets limits, $null removes one; the (N+1)th VM is QuotaExceeded naming the limit and the use' {
        Set-VmQuota alice -MaxVms 2 -MaxDiskGiB 10 -PassThru | ForEach-Object { $_.Quota.MaxVms } | Should -Be 2
        New-Vm -Name owned2 -Owner alice -DiskSizeGB 1 | Out-Null
        $errors = Get-VmError { New-Vm -Name owned3 -Owner alice -DiskSizeGB 1 }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'QuotaExceeded,*'
        $errors[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $errors[0].Exception.Message | Should -Match 'MaxVms quota of 2: 2 VMs in use, 1 more'
        Get-Vm owned3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Set-VmQuota alice -MaxVms $null
        (Get-VmUser alice).Quota.MaxVms | Should -BeNullOrEmpty
        (Get-VmUser alice).Quota.MaxDiskGiB | Should -Be 10
        (Get-VmError { Set-VmQuota alice -MaxCpus -1 }).FullyQualifiedErrorId | Should -BeLike 'InvalidQuota,*'
    }

    It 'Grant-VmAccess shares a VM, Revoke-VmAccess takes it back; the owner cannot be granted' {
        New-VmUser bob bob@example.test | Out-Null
        $grant = Get-Vm owned | Grant-VmAccess -User bob
        $grant.VmName | Should -Be 'owned'
        (Get-VmUser bob).SharedVms | Should -Be @('owned')
        (Get-VmError { Grant-VmAccess owned alice }).FullyQualifiedErrorId | Should -BeLike 'VmAccessToOwner,*'
        Revoke-VmAccess owned bob
        (Get-VmUser bob).SharedVms | Should -BeNullOrEmpty
        (Get-VmError { Revoke-VmAccess owned bob }).FullyQualifiedErrorId | Should -BeLike 'VmAccessNotFound,*'
        (Get-VmError { Grant-VmAccess nosuchvm bob }).FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
    }

    It 'Remove-VmUser refuses a user who owns things, asks first, and removes with -Force' {
        (Get-VmError { Remove-VmUser alice -Force }).FullyQualifiedErrorId | Should -BeLike 'UserOwnsResources,*'
        (Invoke-WithoutPrompt "`$env:VMPS_HOME = '$StateDirectory'; Remove-VmUser bob").Errors.Count | Should -BeGreaterThan 0
        Get-VmUser bob | Should -Not -BeNullOrEmpty
        Get-VmUser bob | Remove-VmUser -Force
        Get-VmError { Get-VmUser bob } | ForEach-Object FullyQualifiedErrorId | Should -BeLike 'UserNotFound,*'
    }

    It 'pipeline binding never crosses types: a VM is not a user' {
        $errors = Get-VmError { Get-Vm owned | Remove-VmUser -Force }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InputObjectNotBound,*'
        Get-VmUser alice | Should -Not -BeNullOrEmpty
    }
}
