<#
.SYNOPSIS
    Runs every tests/pester file against the built module folder (out/VmPs), all in this one pwsh.

.DESCRIPTION
    tests/run calls it after building. It restores what the tests take from NuGet (Pester.proj: Pester 5.9.1 and a
    conflicting SQLitePCLRaw), prints each test's result and ends with the line "Pester: N passed, N failed,
    N skipped", which tests/run adds to the gate's summary. One process for every file: each file imports the
    module and boots its own VMs, so separate processes would only add a pwsh start and a module import per file.

.EXAMPLE
    pwsh tests/pester/Invoke-PesterSuite.ps1 -Path tests/pester/VmPsModule.Tests.ps1
#>
[CmdletBinding()]
param(
    # The test files or folders to run; all of tests/pester by default.
    [string[]] $Path = $PSScriptRoot
)

# No $ErrorActionPreference = 'Stop' here: the tests run in this scope and check non-terminating errors.
$project = Join-Path $PSScriptRoot 'Pester.proj'
dotnet restore $project -nologo -v quiet
if ($LASTEXITCODE -ne 0) { throw "dotnet restore $project failed with exit code $LASTEXITCODE." }
$restored = (dotnet msbuild $project -nologo -getProperty:PesterModule -getProperty:ConflictingSqlitePclRaw | ConvertFrom-Json).Properties
$env:VMPS_TEST_CONFLICTING_SQLITEPCLRAW = $restored.ConflictingSqlitePclRaw
Import-Module $restored.PesterModule -ErrorAction Stop
$PSStyle.OutputRendering = 'PlainText'

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $configuration
if ($null -eq $result) {
    # Pester itself failed (no test file found, a broken configuration): no summary line, so the gate counts a failure.
    exit 1
}

# A BeforeAll or AfterAll that failed (in a block or at the top of a file) is a failure even where no single
# test failed with it.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
"Pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount + $result.NotRunCount) skipped"
exit ([int]($failed -gt 0))
