#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# A second pwsh session killed with SIGKILL in the middle of a VmPs command, as a closed terminal or an OOM kill
# would end it: the next command in this session repairs what it left, and the VM works as before.

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose killed

    # A pwsh of its own running the script with this file's VMPS_HOME, its output in a file; returns the process.
    function script:Start-SecondSession([string] $Script) {
        $log = Join-Path $StateDirectory "second-$([guid]::NewGuid().ToString('n')).log"
        $command = "Import-Module '$RepoRoot/out/VmPs'; $Script"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($argument in '-NoProfile', '-NonInteractive', '-Command', "& { $command } *> '$log'") { $info.ArgumentList.Add($argument) }
        [pscustomobject]@{ Process = [Diagnostics.Process]::Start($info); Log = $log }
    }

    # Waits (bounded, so a failure cannot hang the run) until the condition holds; returns whether it did.
    function script:Wait-Until([scriptblock] $Condition, [int] $Seconds = 120) {
        $deadline = [datetime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([datetime]::UtcNow -gt $deadline) { return $false }
            Start-Sleep -Milliseconds 100
        }
        $true
    }

    function script:Stop-SecondSession($Session) {
        $Session.Process.Kill()
        $Session.Process.WaitForExit(30000) | Should -BeTrue
        $Session.Process.ExitCode | Should -Be 137 -Because 'the session was killed, not ended'
    }
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'A pwsh session killed mid-command' -Skip:$NoQemu {
    BeforeAll {
        New-Vm -Name victim -Image busybox -MemoryMB 256 | Out-Null
    }

    It 'killed while Start-Vm waits for the agent: the next Get-Vm ends its hypervisor and says Stopped, and Start-Vm boots' {
        $seen = @{}
        $session = Start-SecondSession 'Start-Vm victim'
        try {
            Wait-Until { ($seen.Vm = Get-Vm victim).ProcessId } | Should -BeTrue -Because 'the second session records its hypervisor'
        }
        finally {
            Stop-SecondSession $session
        }

        # Killed at once on sight of the hypervisor: the guest is seconds from its agent under TCG.
        $seen.Vm.State | Should -Be 'Starting'
        $hypervisor = $seen.Vm.ProcessId

        $repaired = Get-Vm victim
        $repaired.State | Should -Be 'Stopped'
        $repaired.ProcessId | Should -BeNullOrEmpty
        # Killed by the repair; its parent was the killed session, so the host's init reaps it.
        Wait-Until { -not (Test-Path -LiteralPath "/proc/$hypervisor") } -Seconds 60 | Should -BeTrue -Because 'the abandoned hypervisor is ended'

        Start-Vm victim
        (Invoke-VmCommand victim -Command echo, booted-again).Stdout.Trim() | Should -Be 'booted-again'
    }

    It 'killed while Invoke-VmCommand runs: the VM keeps running and the next Invoke-VmCommand is answered' {
        (Get-Vm victim).State | Should -Be 'Running'
        $marker = Join-Path $StateDirectory 'began'
        $session = Start-SecondSession "Invoke-VmCommand victim -Script 'echo began; sleep 300' -Stream | ForEach-Object { [IO.File]::AppendAllText('$marker', `"`$_`") }"
        try {
            Wait-Until { (Test-Path -LiteralPath $marker) -and (Get-Content -LiteralPath $marker -Raw) -match 'began' } | Should -BeTrue -Because 'the guest runs the second session''s command'
        }
        finally {
            Stop-SecondSession $session
        }

        (Get-Vm victim).State | Should -Be 'Running'
        (Invoke-VmCommand victim -Command echo, still-answering -TimeoutSec 60).Stdout.Trim() | Should -Be 'still-answering'
        Stop-Vm victim -TurnOff -Force
        (Get-Vm victim).State | Should -Be 'Stopped'
    }
}
