#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the ingress cmdlets (New-VmIngress, Get-VmIngress, Remove-VmIngress, Set-VmHost -IngressDomain)
# with Debian's real caddy, VmPs's token checker and real curl, in a network namespace of the test's own (VMPS_NETNS).
# The VMs are not booted: a busybox httpd bound to a VM's address inside the namespace stands in for it, so one Caddy
# serves every test quickly. IngressBoot.Tests.ps1 reaches a booted VM.

BeforeDiscovery {
    $CannotIngress = -not ((id -u) -eq 0 -and (Get-Command ip -ErrorAction Ignore) -and (Get-Command caddy -ErrorAction Ignore) -and
        (Get-Command busybox -ErrorAction Ignore) -and (Get-Command curl -ErrorAction Ignore))
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    if ((id -u) -eq 0 -and (Get-Command caddy -ErrorAction Ignore)) {
        Initialize-VmPsTestState -Purpose ingress -Namespace
        $script:Ingress = Join-Path $StateDirectory 'ingress'
        $script:Servers = [Collections.Generic.List[int]]::new()

        # An HTTP server in the namespace on ADDRESS:PORT serving one page, and at /cgi-bin/headers the X-VmPs-* and
        # Authorization headers it was sent; its process id is kept for AfterAll.
        function script:Start-StandIn([string] $Address, [int] $Port, [string] $Text) {
            $root = Join-Path $StateDirectory "www-$Address-$Port"
            New-Item -ItemType Directory -Path (Join-Path $root 'cgi-bin') -Force | Out-Null
            Set-Content -LiteralPath (Join-Path $root 'index.html') -Value $Text
            $cgi = Join-Path $root 'cgi-bin/headers'
            Set-Content -LiteralPath $cgi -Value "#!/bin/sh`nprintf 'Content-Type: text/plain\r\n\r\n'`nenv | grep -E '^HTTP_(X_VMPS_|AUTHORIZATION)' | sort`n"
            chmod 0755 $cgi
            $process = Start-Process -FilePath ip -ArgumentList 'netns', 'exec', $NetworkNamespace, 'busybox', 'httpd', '-f', '-p', "${Address}:$Port", '-h', $root -PassThru
            $script:Servers.Add($process.Id)
            # Bounded wait for the listener (no timing is asserted).
            foreach ($attempt in 1..100) {
                $target = if ($Address -eq '0.0.0.0') { '127.0.0.1' } else { $Address }
                ip netns exec $NetworkNamespace curl -s -o /dev/null --max-time 5 "http://${target}:$Port/"
                if ($LASTEXITCODE -eq 0) { return }
                Start-Sleep -Milliseconds 50
            }
            throw "the stand-in server on ${Address}:$Port did not start"
        }

        # curl inside the namespace, the host name resolved to the namespace's loopback: "STATUS BODY".
        function script:Invoke-Ingress([string] $Url, [string[]] $Options = @()) {
            $uri = [Uri]$Url
            $port = if ($uri.Scheme -eq 'https') { 443 } else { 80 }
            $out = ip netns exec $NetworkNamespace curl -s --max-time 20 -w '\n%{http_code}' --resolve "$($uri.Host):${port}:127.0.0.1" @Options $Url
            $lines = @($out)
            [pscustomobject]@{ Status = [int]$lines[-1]; Body = ($lines[0..($lines.Count - 2)] -join "`n").Trim() }
        }

        ip -n $NetworkNamespace link set lo up
        $null = New-VmNetwork -Name ingnet -Subnet 10.151.0.0/24
        $script:Vm = New-Vm -Name web -Network ingnet
        # The VM's address on the namespace's loopback: the stand-in answers for the (unbooted) VM.
        ip -n $NetworkNamespace addr add "$($Vm.IPAddress)/32" dev lo
        Start-StandIn $Vm.IPAddress 8080 'hello from web'

        # A private VM of alice's, shared with carol; bob has a token too but no access.
        $null = New-VmUser alice alice@example.test
        $null = New-VmUser bob bob@example.test
        $null = New-VmUser carol carol@example.test
        $script:Private = New-Vm -Name priv -Network ingnet -Owner alice
        $null = Grant-VmAccess -VmName priv -User carol
        ip -n $NetworkNamespace addr add "$($Private.IPAddress)/32" dev lo
        Start-StandIn $Private.IPAddress 8080 'hello from priv'
        $script:Tokens = @{ alice = (New-VmUserToken alice).Token; bob = (New-VmUserToken bob).Token; carol = (New-VmUserToken carol).Token }
    }
}

AfterAll {
    if ($script:Servers) {
        foreach ($id in $Servers) { Stop-Process -Id $id -ErrorAction SilentlyContinue }
    }
    if ($StateDirectory) {
        Get-VmIngress -ErrorAction SilentlyContinue | Where-Object { -not $_.IsDefault } | Remove-VmIngress -ErrorAction SilentlyContinue
        Clear-VmPsTestState
    }
}

Describe 'the ingress' -Skip:$CannotIngress {
    It 'refuses host names that are not plain DNS names, before anything is stored' -ForEach @(
        @{ Name = '*.example.test' }, @{ Name = 'web.example.test:8080' }, @{ Name = 'web"}.example.test' }, @{ Name = 'web{http.request.host}.test' }, @{ Name = 'localhost' }
    ) {
        $errors = Get-VmError { New-VmIngress web $Name -Tls Off }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidIngressHostname,*'
        Test-Path (Join-Path $Ingress 'caddy.pid') | Should -BeFalse
    }

    It 'New-VmIngress -WhatIf starts nothing' {
        New-VmIngress web web.example.test -Tls Off -Public -Port 8080 -WhatIf
        Get-VmIngress | Should -BeNullOrEmpty
        Test-Path (Join-Path $Ingress 'caddy.pid') | Should -BeFalse
    }

    It 'serves a public plain HTTP route through its own Caddy, its admin API only on a private unix socket' {
        $route = New-VmIngress web WEB.example.test -Tls Off -Public -Port 8080
        $route.Hostname | Should -Be 'web.example.test'
        $route.Url | Should -Be 'http://web.example.test/'
        $route.PSObject.TypeNames[0] | Should -Be 'VmPs.VmIngress'

        $answer = Invoke-Ingress 'http://web.example.test/'
        $answer.Status | Should -Be 200
        $answer.Body | Should -Be 'hello from web'

        (stat -c '%a' $Ingress) | Should -Be '700'
        (stat -c '%a' (Join-Path $Ingress 'caddy-admin.sock')) | Should -Be '600'
        $caddyPid = (Get-Content (Join-Path $Ingress 'caddy.pid')).Split(' ')[0]
        $listening = ip netns exec $NetworkNamespace ss -ltnpH
        ($listening | Where-Object { $_ -match "pid=$caddyPid," }) -join "`n" | Should -Not -Match ':2019\b'
        (Invoke-Ingress 'http://other.example.test/').Status | Should -Be 404
    }

    It 'refuses a host name that already routes, naming its VM' {
        $errors = Get-VmError { New-VmIngress web web.example.test -Tls Off }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'IngressHostnameInUse,*'
        $errors[0].Exception.Message | Should -BeLike "*VM 'web'*"
    }

    It 'answers 503 with a page naming the VM when the VM does not answer on the port' {
        $null = New-VmIngress web down.example.test -Tls Off -Public -Port 8081
        $answer = Invoke-Ingress 'http://down.example.test/'
        $answer.Status | Should -Be 503
        $answer.Body | Should -BeLike '*VM &#39;web&#39; does not answer on port 8081*'  # HTML-encoded
        Remove-VmIngress down.example.test
    }

    It 'starts a Caddy that died again, with its routes, on the next call' {
        $caddyPid = [int](Get-Content (Join-Path $Ingress 'caddy.pid')).Split(' ')[0]
        Stop-Process -Id $caddyPid -Force
        Wait-Process -Id $caddyPid -Timeout 20 -ErrorAction SilentlyContinue
        (Get-VmIngress).Hostname | Should -Contain 'web.example.test'
        [int](Get-Content (Join-Path $Ingress 'caddy.pid')).Split(' ')[0] | Should -Not -Be $caddyPid
        (Invoke-Ingress 'http://web.example.test/').Body | Should -Be 'hello from web'
    }

    It 'serves HTTPS with a certificate from its own CA (-Tls Internal)' {
        $null = New-VmIngress web secure.example.test -Public -Port 8080
        $root = Join-Path $Ingress 'data/pki/authorities/local/root.crt'
        $answer = Invoke-Ingress 'https://secure.example.test/' -Options '--cacert', $root
        $answer.Status | Should -Be 200
        $answer.Body | Should -Be 'hello from web'
        Remove-VmIngress secure.example.test
    }

    It 'refuses a route whose port is in use, keeping nothing' {
        Start-StandIn 0.0.0.0 443 'squatter'
        $squatter = $Servers[-1]
        $errors = Get-VmError { New-VmIngress web busy.example.test -Public -Port 8080 }
        Stop-Process -Id $squatter
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'IngressPortInUse,*'
        (Get-VmIngress).Hostname | Should -Not -Contain 'busy.example.test'
        # Caddy keeps the listeners of a refused configuration's servers that started: VmPs starts a clean Caddy.
        @(ip netns exec $NetworkNamespace ss -ltnH 'sport = :80').Count | Should -Be 1
        foreach ($attempt in 1..10) { (Invoke-Ingress 'http://web.example.test/').Body | Should -Be 'hello from web' }
    }

    It 'Set-VmHost -IngressDomain gives every VM a default route, which cannot be removed alone' {
        $report = Set-VmHost -IngressDomain vms.example.test -PassThru
        $report.Ingress.Domain | Should -Be 'vms.example.test'
        ($report | Format-List | Out-String -Width 80) | Should -Match 'IngressDomain\s+: vms\.example\.test \(every VM at NAME\.vms\.example\.test\)'
        $default = Get-VmIngress -VmName web | Where-Object IsDefault
        $default.Hostname | Should -Be 'web.vms.example.test'
        $default.Public | Should -BeFalse
        $errors = Get-VmError { Remove-VmIngress web.vms.example.test }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'IngressRouteIsDefault,*'
        Set-VmHost -IngressDomain ''
        Get-VmIngress | Where-Object IsDefault | Should -BeNullOrEmpty
        (Get-VmHost).Ingress.Domain | Should -BeNullOrEmpty
    }

    Context 'a private route' {
        BeforeAll {
            $null = New-VmIngress priv priv.example.test -Tls Off -Port 8080
            $script:Checker = Join-Path $Ingress 'auth.sock'
        }

        It 'is served through the token checker, listening only on a 0600 unix socket' {
            (stat -c '%a %U %F' $Checker) | Should -Be '600 root socket'
            $checkerPid = (Get-Content (Join-Path $Ingress 'auth.pid')).Split(' ')[0]
            ss -lxpH | Where-Object { $_ -match "pid=$checkerPid," } | ForEach-Object { ($_ -split '\s+')[4] } | Should -Contain $Checker
            ss -ltnpH | Where-Object { $_ -match "pid=$checkerPid," } | Should -BeNullOrEmpty
            ip netns exec $NetworkNamespace ss -ltnpH | Where-Object { $_ -match "pid=$checkerPid," } | Should -BeNullOrEmpty
        }

        It 'refuses a request without a token, or with a wrong one, with 401 and a challenge' -ForEach @(
            @{ Options = @() }
            @{ Options = @('-H', 'Authorization: Bearer vmps_notatoken') }
            @{ Options = @('-u', 'alice:vmps_notatoken') }
            @{ Options = @('-H', 'Authorization: Bearer') }
            @{ Options = @('-H', 'X-VmPs-User: alice') }
        ) {
            $answer = Invoke-Ingress 'http://priv.example.test/' -Options $Options
            $answer.Status | Should -Be 401
            $answer.Body | Should -Not -BeLike '*hello from priv*'
            $headers = ip netns exec $NetworkNamespace curl -s -o /dev/null -D - --resolve 'priv.example.test:80:127.0.0.1' @Options 'http://priv.example.test/'
            $headers | Where-Object { $_ -like 'WWW-Authenticate:*' } | Should -BeLike '*Bearer realm="VmPs"*Basic realm="VmPs"*'
        }

        It 'refuses basic auth whose user name is not the token''s user' {
            (Invoke-Ingress 'http://priv.example.test/' -Options '-u', "bob:$($Tokens.alice)").Status | Should -Be 401
        }

        It 'refuses a valid token of a user without access with 403' {
            $answer = Invoke-Ingress 'http://priv.example.test/' -Options '-H', "Authorization: Bearer $($Tokens.bob)"
            $answer.Status | Should -Be 403
            $answer.Body | Should -BeLike '*Grant-VmAccess*'
        }

        It 'lets the owner in by bearer token and a granted user by basic auth; the VM sees who, never the token' {
            (Invoke-Ingress 'http://priv.example.test/' -Options '-H', "Authorization: Bearer $($Tokens.alice)").Body | Should -Be 'hello from priv'
            $seen = Invoke-Ingress 'http://priv.example.test/cgi-bin/headers' -Options '-u', "carol:$($Tokens.carol)", '-H', 'X-VmPs-User: alice', '-H', 'X-VmPs-Vm: web'
            $seen.Status | Should -Be 200
            $seen.Body -split "`n" | Should -Be @('HTTP_X_VMPS_EMAIL=carol@example.test', 'HTTP_X_VMPS_USER=carol')
        }

        It 'drops client-sent X-VmPs-* headers on public routes too' {
            $seen = Invoke-Ingress 'http://web.example.test/cgi-bin/headers' -Options '-H', 'X-VmPs-User: alice', '-H', 'X-VmPs-Email: a@example.test'
            $seen.Status | Should -Be 200
            $seen.Body | Should -BeNullOrEmpty
        }

        It 'keeps no token in any log of the ingress' {
            foreach ($token in $Tokens.Values) {
                Get-ChildItem -LiteralPath $Ingress -Filter '*.log' | Select-String -SimpleMatch $token | Should -BeNullOrEmpty
            }
        }

        It 'answers 503 naming the checker while it is dead, and the next call starts it again' {
            $checkerPid = [int](Get-Content (Join-Path $Ingress 'auth.pid')).Split(' ')[0]
            Stop-Process -Id $checkerPid -Force
            Wait-Process -Id $checkerPid -Timeout 20 -ErrorAction SilentlyContinue
            $answer = Invoke-Ingress 'http://priv.example.test/' -Options '-H', "Authorization: Bearer $($Tokens.alice)"
            $answer.Status | Should -Be 503
            $answer.Body | Should -BeLike '*token checker does not answer*'
            $null = Get-VmIngress
            [int](Get-Content (Join-Path $Ingress 'auth.pid')).Split(' ')[0] | Should -Not -Be $checkerPid
            (Invoke-Ingress 'http://priv.example.test/' -Options '-H', "Authorization: Bearer $($Tokens.alice)").Body | Should -Be 'hello from priv'
        }

        It 'ends the checker with the last private route' {
            Remove-VmIngress priv.example.test
            Test-Path (Join-Path $Ingress 'auth.pid') | Should -BeFalse
            Test-Path $Checker | Should -BeFalse
        }
    }

    It 'Remove-VmIngress stops serving the route, and ends Caddy with the last one' {
        Get-VmIngress web.example.test | Remove-VmIngress
        Get-VmIngress | Should -BeNullOrEmpty
        Test-Path (Join-Path $Ingress 'caddy.pid') | Should -BeFalse
    }
}
