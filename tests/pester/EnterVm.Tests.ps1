#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Enter-Vm's refusals, which need no VM. The interactive session itself is tested on a pseudo-terminal
# against a booted VM by EnterVmTerminalTests (xunit).

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-enter-$([guid]::NewGuid().ToString('n'))"
    $script:Pwsh = Join-Path $PSHOME 'pwsh'  # the process is dotnet when pwsh is a .NET global tool
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop
}

AfterAll {
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Enter-Vm' {
    It 'refuses with a specific error when input is not a terminal' {
        # Piping into pwsh makes its stdin a pipe, as in a script or a CI job.
        $probe = "`$env:VMPS_HOME = '$StateDirectory'; Import-Module '$(Join-Path $RepoRoot 'out/VmPs')'; " +
            "try { Enter-Vm -Name any -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId; `$_.CategoryInfo.Category }"
        $result = '' | & $Pwsh -NoProfile -NonInteractive -Command $probe

        $result | Should -Be @('EnterVmNeedsTerminal,VmPs.PowerShell.Commands.EnterVmCommand', 'InvalidOperation')
    }

    It 'takes one VM by name, with completion, or a VM object from the pipeline' {
        $command = Get-Command Enter-Vm
        $command.Parameters['Name'].ParameterType | Should -Be ([string])
        $command.Parameters['Name'].Attributes.Where({ $_ -is [ArgumentCompleter] }) | Should -Not -BeNullOrEmpty
        $command.Parameters['InputObject'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipeline | Should -Contain $true
        $command.Parameters['Shell'] | Should -Not -BeNullOrEmpty
    }
}
