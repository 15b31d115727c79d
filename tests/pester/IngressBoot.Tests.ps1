#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The ingress with every part real: a busybox VM booted under QEMU serves busybox httpd, reached over HTTPS (-Tls Internal,
# the ingress CA's root given to curl) through VmPs's Caddy and token checker, from inside the test's network namespace.

BeforeDiscovery {
    $Missing = @(
        if ((id -u) -ne 0) { 'root' }
        foreach ($program in 'qemu-system-x86_64', 'caddy', 'curl', 'ip') { if (-not (Get-Command $program -ErrorAction Ignore)) { $program } }
    )
    $CannotBoot = $Missing.Count -gt 0
    if ($CannotBoot) { Write-Warning "IngressBoot.Tests.ps1 skips: it needs $($Missing -join ', ')" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    if ((id -u) -eq 0 -and (Get-Command caddy -ErrorAction Ignore) -and (Get-Command qemu-system-x86_64 -ErrorAction Ignore)) {
        Initialize-VmPsTestState -Purpose ib -Namespace
        $script:Ingress = Join-Path $StateDirectory 'ingress'
        $script:Root = Join-Path $Ingress 'data/pki/authorities/local/root.crt'

        # curl over HTTPS inside the namespace, trusting only the ingress's own CA: "STATUS BODY".
        function script:Invoke-Ingress([string] $Hostname, [string] $Path = '/', [string[]] $Options = @()) {
            $out = ip netns exec $NetworkNamespace curl -s --max-time 30 --cacert $Root -w '\n%{http_code}' --resolve "${Hostname}:443:127.0.0.1" @Options "https://$Hostname$Path"
            $lines = @($out)
            [pscustomobject]@{ Status = [int]$lines[-1]; Body = ($lines[0..($lines.Count - 2)] -join "`n").Trim() }
        }

        ip -n $NetworkNamespace link set lo up
        $null = New-VmNetwork -Name bootnet -Subnet 10.153.0.0/24
        $null = New-VmUser alice alice@example.test
        $null = New-VmUser bob bob@example.test
        $script:Tokens = @{ alice = (New-VmUserToken alice).Token; bob = (New-VmUserToken bob).Token }
        New-Vm -Name site -Image busybox -MemoryMB 256 -Network bootnet -Owner alice | Start-Vm
        # A page, and a CGI script printing the identity and Authorization headers the VM was sent.
        $serve = @'
mkdir -p /www/cgi-bin
echo 'hello from the vm' > /www/index.html
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nenv | grep -E "^HTTP_(X_VMPS_|AUTHORIZATION)" | sort\n' > /www/cgi-bin/headers
chmod 755 /www/cgi-bin/headers
httpd -p 80 -h /www
'@
        (Invoke-VmCommand site -Script $serve).ExitCode | Should -Be 0
        $null = New-VmIngress site site.example.test
        $null = New-VmIngress site public.example.test -Public
    }
}

AfterAll {
    if ($StateDirectory) {
        Get-VmIngress -ErrorAction SilentlyContinue | Where-Object { -not $_.IsDefault } | Remove-VmIngress -ErrorAction SilentlyContinue
        Clear-VmPsTestState
    }
}

Describe 'the ingress to a booted VM' -Skip:$CannotBoot {
    It 'serves a public route over HTTPS with a certificate of its own CA' {
        $answer = Invoke-Ingress public.example.test
        $answer.Status | Should -Be 200
        $answer.Body | Should -Be 'hello from the vm'
    }

    It 'refuses a private route without a token, or with a wrong one (401)' -ForEach @(
        @{ Options = @() }
        @{ Options = @('-H', 'Authorization: Bearer vmps_wrongtokenwrongtokenwrongtokenwrongtoken0') }
        @{ Options = @('-u', 'alice:vmps_wrong') }
    ) {
        $answer = Invoke-Ingress site.example.test -Options $Options
        $answer.Status | Should -Be 401
        $answer.Body | Should -Not -BeLike '*hello from the vm*'
    }

    It 'refuses the token of a user without access to the VM (403)' {
        (Invoke-Ingress site.example.test -Options '-H', "Authorization: Bearer $($Tokens.bob)").Status | Should -Be 403
    }

    It 'lets the owner in by bearer token and by basic auth; the VM sees X-VmPs-User and X-VmPs-Email, never the token' {
        (Invoke-Ingress site.example.test -Options '-H', "Authorization: Bearer $($Tokens.alice)").Body | Should -Be 'hello from the vm'
        $seen = Invoke-Ingress site.example.test '/cgi-bin/headers' -Options '-u', "alice:$($Tokens.alice)", '-H', 'X-VmPs-User: bob'
        $seen.Status | Should -Be 200
        $seen.Body -split "`n" | Should -Be @('HTTP_X_VMPS_EMAIL=alice@example.test', 'HTTP_X_VMPS_USER=alice')
    }

    It 'answers 503 with a page naming the stopped VM and how to start it' {
        Stop-Vm site
        (Get-VmIngress site.example.test).VmState | Should -Be 'Stopped'
        foreach ($answer in (Invoke-Ingress public.example.test), (Invoke-Ingress site.example.test -Options '-H', "Authorization: Bearer $($Tokens.alice)")) {
            $answer.Status | Should -Be 503
            $answer.Body | Should -BeLike '*VM &#39;site&#39; does not answer on port 80: it is not running (Start-Vm site)*'
        }
        (Invoke-Ingress site.example.test).Status | Should -Be 401 -Because 'who may not reach the VM learns nothing of its state'
    }
}
