#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# How the module loads, each case in a new pwsh so that nothing of this session's imports leaks in: installed by
# name (build.ps1 -Task Install) into new sessions, jobs and ForEach-Object -Parallel; beside another module's
# SQLitePCLRaw; with its types nameable from scripts; and failing with a clear error when its folder is damaged.

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModuleDirectory = Join-Path $RepoRoot 'out/VmPs'
    # $PSHOME holds the pwsh executable whether pwsh is a package or a .NET global tool (where the process is dotnet).
    $script:Pwsh = Join-Path $PSHOME 'pwsh'
    $manifest = Import-PowerShellDataFile (Join-Path $ModuleDirectory 'VmPs.psd1')
    $script:Version = $manifest.ModuleVersion
    $script:CmdletCount = $manifest.CmdletsToExport.Count

    # Runs a script in a new pwsh with a scratch state directory (and, when given, a scratch XDG_DATA_HOME, which
    # holds the user's module folder); returns its output lines, failing on a non-zero exit.
    function script:Invoke-NewSession([string] $Script, [string] $DataHome) {
        $saved = $env:VMPS_HOME, $env:XDG_DATA_HOME
        $env:VMPS_HOME = Join-Path $TestDrive "state-$([guid]::NewGuid().ToString('n'))"
        if ($DataHome) { $env:XDG_DATA_HOME = $DataHome }
        try {
            $output = & $Pwsh -NoProfile -NonInteractive -Command "`$ErrorActionPreference = 'Stop'; $Script" 2>&1
            if ($LASTEXITCODE -ne 0) { throw "pwsh exited with $LASTEXITCODE`: $($output -join "`n")" }
            $output | ForEach-Object { "$_" }
        }
        finally {
            $env:VMPS_HOME, $env:XDG_DATA_HOME = $saved
        }
    }
}

Describe 'build.ps1 -Task Install' {
    BeforeAll {
        # The user's module folder is $XDG_DATA_HOME/powershell/Modules for pwsh and for build.ps1's default.
        $script:DataHome = Join-Path $TestDrive 'data'
        $script:Installed = Join-Path $DataHome "powershell/Modules/VmPs/$Version"
        $saved = $env:XDG_DATA_HOME
        $env:XDG_DATA_HOME = $DataHome
        try {
            & $Pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') -Task Install | Out-Host
            $script:InstallExitCode = $LASTEXITCODE
        }
        finally {
            $env:XDG_DATA_HOME = $saved
        }
    }

    It 'installs the module folder into a versioned folder of the user''s module folder' {
        $InstallExitCode | Should -Be 0
        Join-Path $Installed 'VmPs.psd1' | Should -Exist
        Join-Path $Installed 'bin/VmPs.Core.dll' | Should -Exist
        (Get-Item (Join-Path $Installed 'bin/guest/vmps-guest')).UnixMode | Should -Match '^-rwx'
    }

    It 'makes Import-Module VmPs by name work in a new session' {
        $lines = Invoke-NewSession -DataHome $DataHome -Script '
            Import-Module VmPs
            (Get-Module VmPs).ModuleBase
            (Get-Command -Module VmPs).Count
            @(Get-Vm).Count'
        $lines | Should -Be @($Installed, "$CmdletCount", '0')
    }

    It 'makes Import-Module VmPs by name work in a job' {
        $lines = Invoke-NewSession -DataHome $DataHome -Script '
            Start-Job { Import-Module VmPs; (Get-Module VmPs).ModuleBase; "$([VmPs.Core.Vms.VmState]::Stopped)" } |
                Receive-Job -Wait -AutoRemoveJob'
        $lines | Should -Be @($Installed, 'Stopped')
    }

    It 'makes Import-Module VmPs by name work in ForEach-Object -Parallel, one import per runspace at once' {
        $lines = Invoke-NewSession -DataHome $DataHome -Script '
            1..4 | ForEach-Object -Parallel {
                Import-Module VmPs
                "$_ $((Get-Module VmPs).ModuleBase) $(@(Get-Vm -Name nosuch* ).Count)"
            } | Sort-Object'
        $lines | Should -Be (1..4 | ForEach-Object { "$_ $Installed 0" })
    }
}

Describe 'The private load context' {
    It 'keeps VmPs working beside another SQLitePCLRaw that a module loaded first, and leaves that one in place' {
        $conflicting = $env:VMPS_TEST_CONFLICTING_SQLITEPCLRAW
        $conflicting | Should -Exist -Because 'Invoke-PesterSuite.ps1 restores another SQLitePCLRaw.core (tests/pester/Pester.proj)'
        $lines = Invoke-NewSession -Script "
            Add-Type -Path '$conflicting'
            Import-Module '$ModuleDirectory'
            New-Vm -Name beside | Out-Null
            (Get-Vm -Name beside).State
            Remove-Vm -Name beside -Confirm:`$false
            @(Get-Vm).Count
            [SQLitePCL.raw].Assembly.Location
            ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'SQLitePCLRaw.core' }).Count"
        $lines | Should -Be @('Stopped', '0', $conflicting, '2')
    }

    It 'loads nothing of the module but its loader and its cmdlets into the default context' {
        $lines = Invoke-NewSession -Script "
            Import-Module '$ModuleDirectory'
            Get-Vm
            [AppDomain]::CurrentDomain.GetAssemblies() |
                Where-Object { `$_.Location -like '$ModuleDirectory/*' } |
                Where-Object { [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_) -eq [Runtime.Loader.AssemblyLoadContext]::Default } |
                ForEach-Object { `$_.GetName().Name } | Sort-Object"
        $lines | Should -Be @('VmPs.Loader', 'VmPs.PowerShell')
    }

    It 'lets scripts name the module''s types' {
        $lines = Invoke-NewSession -Script "
            Import-Module '$ModuleDirectory'
            [VmPs.Core.Vms.VmState]::Running
            (New-Vm -Name typed) -is [VmPs.Core.Vms.VmInfo]
            'Stopped' -as [VmPs.Core.Vms.VmState] -eq [VmPs.Core.Vms.VmState]::Stopped
            (Get-Vm typed | Format-Table | Out-String) -match 'typed'
            Remove-Vm typed -Confirm:`$false"
        $lines | Should -Be @('Running', 'True', 'True', 'True')
    }

    It 'fails the import with ModuleLoadFailed naming a <Damage> file' -ForEach @(
        @{ Damage = 'missing'; File = 'bin/Microsoft.Data.Sqlite.dll'; Action = { param($path) Remove-Item -LiteralPath $path } }
        @{ Damage = 'corrupt'; File = 'bin/VmPs.Core.dll'; Action = { param($path) Set-Content -LiteralPath $path -Value 'not an assembly' } }
        @{ Damage = 'corrupt native'; File = 'bin/runtimes/linux-x64/native/libe_sqlite3.so'; Action = { param($path) Set-Content -LiteralPath $path -Value 'not a library' } }
    ) {
        $damaged = Join-Path $TestDrive "damaged-$([guid]::NewGuid().ToString('n'))/VmPs"
        $null = New-Item -ItemType Directory -Path $damaged
        Copy-Item -Path (Join-Path $ModuleDirectory '*') -Destination $damaged -Recurse
        & $Action (Join-Path $damaged $File)

        $lines = Invoke-NewSession -Script "
            try { Import-Module '$damaged' } catch { `$_.FullyQualifiedErrorId; `$_.CategoryInfo.Category; `$_.TargetObject; `$_.Exception.Message -replace '\s+', ' ' }
            @(Get-Command -Module VmPs).Count"
        $lines[0..2] | Should -Be @('ModuleLoadFailed,Microsoft.PowerShell.Commands.ImportModuleCommand', 'ResourceUnavailable', (Join-Path $damaged $File))
        $lines[3] | Should -BeLike "VmPs cannot load '$(Join-Path $damaged $File)'*"
        $lines[4] | Should -Be '0'
    }
}

Describe 'Import-Module VmPs -Prefix' {
    # Beside a module with the same nouns (PowerCLI's Get-VM, New-VM, Start-VM...), a prefix keeps both usable.
    It 'renames every cmdlet, and the prefixed cmdlets work, bind from the pipeline and complete names' {
        $lines = Invoke-NewSession -Script "
            Import-Module '$ModuleDirectory' -Prefix Mv
            @(Get-Command -Module VmPs | Where-Object Noun -NotLike 'MvVm*').Count
            (Get-Command -Module VmPs).Count
            [bool](Get-Command Get-Vm -ErrorAction Ignore)
            (New-MvVm -Name prefixed -Cpus 1).Name
            (Get-MvVm -Name prefixed).State
            (Get-MvVm prefixed | Set-MvVm -Cpus 2 -PassThru).Cpus
            `$line = 'Get-MvVm -Name pre'
            (TabExpansion2 -inputScript `$line -cursorColumn `$line.Length).CompletionMatches.CompletionText
            try { Get-MvVm -Name ghost -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId }
            Get-MvVm prefixed | Remove-MvVm -Confirm:`$false
            @(Get-MvVm).Count"
        $lines | Should -Be @('0', "$CmdletCount", 'False', 'prefixed', 'Stopped', '2', 'prefixed', 'VmNotFound,VmPs.PowerShell.Commands.GetVmCommand', '0')
    }
}
