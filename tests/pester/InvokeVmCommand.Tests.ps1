#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of Invoke-VmCommand against two real busybox VMs booted once for the whole file.

BeforeDiscovery {
    $NoQemu = -not (Get-Command qemu-system-x86_64 -ErrorAction Ignore)
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-invoke-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop

    function script:Get-VmError([scriptblock] $Action) {
        & $Action 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
    }

    # How many processes in the VM run exactly this command line.
    function script:Get-GuestProcessCount([string] $Vm, [string] $CommandLine) {
        $script = "for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < `$f 2>/dev/null; echo; done | grep -cx '$CommandLine '"
        [int](Invoke-VmCommand -Name $Vm -Script $script).Stdout.Trim()
    }

    # Waits (bounded, so a failure cannot hang the run) until the condition holds; returns whether it did.
    function script:Wait-Until([scriptblock] $Condition) {
        $deadline = [datetime]::UtcNow.AddMinutes(2)
        while (-not (& $Condition)) {
            if ([datetime]::UtcNow -gt $deadline) { return $false }
            Start-Sleep -Milliseconds 200
        }
        $true
    }

    if (Get-Command qemu-system-x86_64 -ErrorAction Ignore) {
        'inv-a', 'inv-b' | ForEach-Object { New-Vm -Name $_ -Image busybox -Cpus 1 -MemoryMB 256 } | Start-Vm
    }
}

AfterAll {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module VmPs -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME
}

Describe 'Invoke-VmCommand' -Skip:$NoQemu {
    Context 'binding' {
        It 'takes VM objects from the pipeline and runs in each, tagging results with VmName' {
            $results = Get-Vm inv-* | Invoke-VmCommand -Command hostname
            $results.Count | Should -Be 2
            $results | ForEach-Object {
                $_.PSObject.TypeNames | Should -Contain 'VmPs.VmCommandResult'
                $_.Stdout.Trim() | Should -Be $_.VmName
            }
            ($results.VmName | Sort-Object) | Should -Be @('inv-a', 'inv-b')
        }

        It 'sends pipeline text to stdin when the VM is named' {
            $result = 'a', 'b' | Invoke-VmCommand inv-a -Command cat
            $result.VmName | Should -Be 'inv-a'
            $result.Stdout | Should -Be "a`nb`n"
        }

        It 'binds a positional argument vector after a positional name' {
            (Invoke-VmCommand inv-a uname, -r).Stdout.Trim() | Should -Be (Get-VmHost).DefaultKernel.Version
        }

        It 'binds a positional script block after piped VMs' {
            (Get-Vm inv-b | Invoke-VmCommand { echo "$(hostname) via sh" }).Stdout | Should -Be "inv-b via sh`n"
        }

        It 'takes names and objects with a VmName or Name property from the pipeline' {
            ('inv-a' | Invoke-VmCommand -Command hostname).VmName | Should -Be 'inv-a'
            ([pscustomobject]@{ VmName = 'inv-b' } | Invoke-VmCommand -Command hostname).VmName | Should -Be 'inv-b'
            ([pscustomobject]@{ Name = 'inv-a' } | Invoke-VmCommand -Command hostname).VmName | Should -Be 'inv-a'
        }

        It 'gives -InputObject to every piped VM''s stdin' {
            $results = Get-Vm inv-* | Invoke-VmCommand -Command wc, -l -InputObject 'one', 'two'
            $results.Stdout.Trim() | Should -Be @('2', '2')
        }

        It '-Script takes shell text that is not PowerShell' {
            $result = Invoke-VmCommand inv-a -Script 'echo "$(echo nested)" >&2; exit 5'
            $result.Stderr | Should -Be "nested`n"
            $result.ExitCode | Should -Be 5
            $result.Command | Should -Be @('/bin/sh', '-c', 'echo "$(echo nested)" >&2; exit 5')
        }
    }

    Context 'options' {
        It 'runs as -User with -Environment in -WorkingDirectory' {
            $result = Invoke-VmCommand inv-a -Script 'id -u; echo "$MODE"; pwd' -User 1000 -Environment @{ MODE = 'test' } -WorkingDirectory /tmp
            $result.Stdout | Should -Be "1000`ntest`n/tmp`n"
        }

        It '-TimeoutSec kills the command and reports AgentExecTimeout for that VM' {
            $errors = Get-VmError { Invoke-VmCommand inv-a -Command sleep, 601 -TimeoutSec 1 }
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -Be 'AgentExecTimeout,VmPs.PowerShell.Commands.InvokeVmCommandCommand'
            $errors[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            $errors[0].TargetObject | Should -Be 'inv-a'
            Get-GuestProcessCount inv-a 'sleep 601' | Should -Be 0
        }

        It '-WhatIf runs nothing' {
            Invoke-VmCommand inv-a -Command touch, /tmp/whatif -WhatIf
            (Invoke-VmCommand inv-a -Command test, -e, /tmp/whatif).ExitCode | Should -Be 1
        }
    }

    Context '-Stream' {
        It 'writes stdout lines to the pipeline and stderr lines to the error stream, the last partial line included' {
            $output = Invoke-VmCommand inv-a -Script 'echo one; echo bad >&2; echo two; printf three' -Stream 2>&1
            $lines = $output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }
            $errors = $output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
            $lines | Should -Be @('one', 'two', 'three')
            $lines | ForEach-Object { $_.VmName | Should -Be 'inv-a' }
            $errors.Count | Should -Be 1
            "$($errors[0])" | Should -Be 'bad'
            $errors[0].FullyQualifiedErrorId | Should -Be 'VmCommandStandardError,VmPs.PowerShell.Commands.InvokeVmCommandCommand'
            $errors[0].TargetObject | Should -Be 'inv-a'
        }

        It 'sets $LASTEXITCODE: the failing VM''s exit code, 0 when all succeed' {
            Get-Vm inv-* | Invoke-VmCommand -Script '[ "$(hostname)" = inv-b ] && exit 7; exit 0' -Stream
            $LASTEXITCODE | Should -Be 7
            Invoke-VmCommand inv-a -Command true -Stream
            $LASTEXITCODE | Should -Be 0
        }

        It 'tags each VM''s lines with its VmName' {
            $lines = Get-Vm inv-* | Invoke-VmCommand { hostname; echo second } -Stream
            $lines.Count | Should -Be 4
            $lines | ForEach-Object { @($_.VmName, 'second') | Should -Contain "$_" }
        }
    }

    Context 'stdin and parallelism' {
        It 'streams pipeline input to every VM while the pipeline still runs, and closes stdin at its end' {
            Invoke-VmCommand inv-* -Command rm, -f, /tmp/stdin.log | Out-Null
            $producer = {
                'first'
                # Both VMs must get 'first' while this pipeline is still open: input is not held back
                # until the end, and the two commands run at the same time.
                $script:BothGotFirst = Wait-Until {
                    (Invoke-VmCommand inv-* -Command cat, /tmp/stdin.log -ErrorAction SilentlyContinue |
                        Where-Object Stdout -EQ "first`n").Count -eq 2
                }
                'second'
            }
            $results = & $producer | Invoke-VmCommand inv-* -Script 'while read line; do echo "$line" >> /tmp/stdin.log; done; echo closed'
            $script:BothGotFirst | Should -BeTrue
            $results.Stdout | Should -Be @("closed`n", "closed`n")
            (Invoke-VmCommand inv-a -Command cat, /tmp/stdin.log).Stdout | Should -Be "first`nsecond`n"
        }

        It 'one failing VM does not stop the others' {
            $output = 'ghost', 'inv-a', 'inv-b' | Invoke-VmCommand -Command true -ThrottleLimit 1 2>&1
            $errors = $output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,VmPs.PowerShell.Commands.InvokeVmCommandCommand'
            $errors[0].TargetObject | Should -Be 'ghost'
            ($output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }).ExitCode | Should -Be @(0, 0)
        }

        It 'Ctrl+C stops every VM''s command' {
            $shell = [powershell]::Create()
            try {
                $null = $shell.AddScript("Import-Module '$RepoRoot/out/VmPs'; Get-Vm inv-* | Invoke-VmCommand -Command sleep, 602 -Stream")
                $invocation = $shell.BeginInvoke()
                Wait-Until { (Get-GuestProcessCount inv-a 'sleep 602') + (Get-GuestProcessCount inv-b 'sleep 602') -eq 2 } | Should -BeTrue
                $shell.Stop()
                $stoppedWith = $null
                try { $shell.EndInvoke($invocation) } catch { $stoppedWith = $_.Exception.InnerException }
                $stoppedWith | Should -BeOfType ([System.Management.Automation.PipelineStoppedException])
            }
            finally {
                $shell.Dispose()
            }
            Get-GuestProcessCount inv-a 'sleep 602' | Should -Be 0
            Get-GuestProcessCount inv-b 'sleep 602' | Should -Be 0
        }
    }

    Context '-AsJob' {
        It 'returns a job with a child job per VM whose results Receive-Job returns' {
            $job = Get-Vm inv-* | Invoke-VmCommand -Script 'hostname; exit 3' -AsJob -JobName inv-job
            try {
                $job | Should -BeOfType ([System.Management.Automation.Job])
                $job.PSJobTypeName | Should -Be 'VmCommandJob'
                Get-Job -Name inv-job | Should -Not -BeNullOrEmpty
                $job.ChildJobs.Location | Sort-Object | Should -Be @('inv-a', 'inv-b')
                $job | Wait-Job -Timeout 120 | Out-Null
                $job.State | Should -Be 'Completed'
                $results = Receive-Job $job
                ($results.VmName | Sort-Object) | Should -Be @('inv-a', 'inv-b')
                $results.ExitCode | Should -Be @(3, 3)
                $results | ForEach-Object { $_.Stdout.Trim() | Should -Be $_.VmName }
            }
            finally {
                Remove-Job $job -Force
            }
        }

        It 'puts a VM''s failure in its child job and fails the job' {
            $job = 'inv-a', 'ghost' | Invoke-VmCommand -Command true -AsJob
            try {
                $job | Wait-Job -Timeout 120 | Out-Null
                $job.State | Should -Be 'Failed'
                ($job.ChildJobs | Where-Object Location -EQ 'inv-a').State | Should -Be 'Completed'
                $errors = Get-VmError { Receive-Job $job }
                $errors.Count | Should -Be 1
                $errors[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound*'
                $errors[0].TargetObject | Should -Be 'ghost'
            }
            finally {
                Remove-Job $job -Force
            }
        }

        It 'Stop-Job kills the commands in the guests' {
            $job = Get-Vm inv-* | Invoke-VmCommand -Command sleep, 603 -AsJob
            try {
                Wait-Until { (Get-GuestProcessCount inv-a 'sleep 603') + (Get-GuestProcessCount inv-b 'sleep 603') -eq 2 } | Should -BeTrue
                Stop-Job $job
                $job.State | Should -Be 'Stopped'
                Get-GuestProcessCount inv-a 'sleep 603' | Should -Be 0
                Get-GuestProcessCount inv-b 'sleep 603' | Should -Be 0
            }
            finally {
                Remove-Job $job -Force
            }
        }
    }
}
