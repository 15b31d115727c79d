#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, packages and demonstrates the VmPs module (the dotnet CLI does the work).

.DESCRIPTION
    Build    dotnet build of VmPs.sln: the module folder out/VmPs, including the NativeAOT guest.
    Test     bash tests/run, the test gate: xunit and Pester tests, ending with "N passed, N failed, N skipped".
    Install  Build the module, then copy out/VmPs to <ModulePath>/VmPs/<version> (by default the user's own
             module folder, ~/.local/share/powershell/Modules), so Import-Module VmPs works in any session.
    Package  Build, then zip out/VmPs into out/VmPs-<version>.zip.
    Demo     Build, then import out/VmPs and run the quick start on a VM named vmps-demo.
    Help     Build, then regenerate the cmdlet help (module/VmPs.PowerShell.dll-Help.xml) from
             build/help/VmPs.Help.psd1 and the cmdlets' parameters; build again to ship it.
    Kernel   Build, then Build-VmKernel: the VmPs guest kernel from /usr/src/linux-source-6.1.tar.xz into
             the state directory's kernel cache (reused when cached; -Force rebuilds). See kernel/README.md.

.EXAMPLE
    ./build.ps1
.EXAMPLE
    ./build.ps1 Install
.EXAMPLE
    ./build.ps1 Test, Package -Configuration Debug
.EXAMPLE
    ./build.ps1 -Task Kernel
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Install', 'Package', 'Demo', 'Help', 'Kernel')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Where Install puts the module: a folder of $env:PSModulePath. The user's own module folder by default.
    [string] $ModulePath = (Join-Path ([Environment]::GetFolderPath('LocalApplicationData', 'DoNotVerify')) 'powershell/Modules'),

    # Kernel: build the kernel again even when this source and config are cached.
    [switch] $Force
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Solution = Join-Path $PSScriptRoot 'VmPs.sln'
$ModuleDirectory = Join-Path $PSScriptRoot 'out/VmPs'

function Invoke-DotNet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $args failed with exit code $LASTEXITCODE."
    }
}

# Runs the pwsh that runs this script: its own executable, or for pwsh installed as a dotnet global
# tool (where the process is dotnet), dotnet with the same pwsh.dll.
function Invoke-Pwsh {
    $executable = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') {
        & $executable ([Environment]::GetCommandLineArgs()[0]) @args
    }
    else {
        & $executable @args
    }
}

function Invoke-BuildTask {
    Invoke-DotNet build $Solution --configuration $Configuration
}

function Invoke-TestTask {
    # The gate builds Release itself, whatever -Configuration says: it is the one CI runs.
    & bash (Join-Path $PSScriptRoot 'tests/run')
    if ($LASTEXITCODE -ne 0) {
        throw "The tests failed (exit code $LASTEXITCODE)."
    }
}

function Invoke-InstallTask {
    # The module project alone builds the whole module folder; the tests need not be built to install.
    Invoke-DotNet build (Join-Path $PSScriptRoot 'src/VmPs.PowerShell/VmPs.PowerShell.csproj') --configuration $Configuration
    $version = (Import-PowerShellDataFile (Join-Path $ModuleDirectory 'VmPs.psd1')).ModuleVersion
    # A versioned folder: Import-Module VmPs picks the newest, and another version can stay installed beside it.
    $destination = Join-Path $ModulePath "VmPs/$version"
    if (Test-Path -LiteralPath $destination) {
        Remove-Item -LiteralPath $destination -Recurse -Force
    }
    $null = New-Item -ItemType Directory -Path $destination -Force
    Copy-Item -Path (Join-Path $ModuleDirectory '*') -Destination $destination -Recurse
    Get-Item -LiteralPath $destination
}

function Invoke-PackageTask {
    Invoke-BuildTask
    $version = (Import-PowerShellDataFile (Join-Path $ModuleDirectory 'VmPs.psd1')).ModuleVersion
    $archive = Join-Path $PSScriptRoot "out/VmPs-$version.zip"
    Remove-Item -LiteralPath $archive -ErrorAction Ignore
    # The archive holds the VmPs folder itself, so it unpacks into a folder Import-Module can load.
    # (ZipFile rather than Compress-Archive, whose module not every pwsh ships.)
    [System.IO.Compression.ZipFile]::CreateFromDirectory($ModuleDirectory, $archive, [System.IO.Compression.CompressionLevel]::Optimal, $true)
    Get-Item $archive
}

function Invoke-DemoTask {
    Invoke-BuildTask
    Import-Module $ModuleDirectory -Force
    # Each step goes to the host on its own, so each gets its own default view.
    try {
        Get-VmHost | Out-Host
        New-Vm -Name vmps-demo -Image busybox | Start-Vm -PassThru | Invoke-VmCommand -Command uname, -r | Out-Host
        Invoke-VmCommand -Name vmps-demo { cat /etc/hostname; ls / } | Format-List VmName, ExitCode, Stdout | Out-Host
        Get-Vm -Name vmps-demo | Stop-Vm -PassThru | Out-Host
        Remove-Vm -Name vmps-demo -Confirm:$false
    }
    finally {
        # Leaves nothing behind when a step failed halfway.
        Get-Vm -Name vmps-demo -ErrorAction Ignore | Remove-Vm -Force -Confirm:$false
        Remove-Module VmPs
    }
}

function Invoke-HelpTask {
    Invoke-BuildTask
    # A separate pwsh, so this session keeps no lock on the module it imports.
    Invoke-Pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'build/New-ModuleHelp.ps1')
    if ($LASTEXITCODE -ne 0) {
        throw "Generating the help failed with exit code $LASTEXITCODE."
    }
}

function Invoke-KernelTask {
    Invoke-BuildTask
    Import-Module $ModuleDirectory -Force
    try {
        Build-VmKernel -Force:$Force | Out-Host
    }
    finally {
        Remove-Module VmPs
    }
}

foreach ($name in $Task) {
    Write-Host "== $name" -ForegroundColor Cyan
    & "Invoke-$($name)Task"
}
