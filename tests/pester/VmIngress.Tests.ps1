#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester tests of the ingress cmdlets (New-VmIngress, Get-VmIngress, Remove-VmIngress, Set-VmHost -IngressDomain)
# with Debian's real caddy and real curl, in a network namespace of the test's own (VMPS_NETNS). The VM is not booted:
# a busybox httpd bound to its address inside the namespace stands in for it, so one Caddy serves every test quickly.

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

        # An HTTP server in the namespace on ADDRESS:PORT serving one page; its process id is kept for AfterAll.
        function script:Start-StandIn([string] $Address, [int] $Port, [string] $Text) {
            $root = Join-Path $StateDirectory "www-$Port"
            New-Item -ItemType Directory -Path $root -Force | Out-Null
            Set-Content -LiteralPath (Join-Path $root 'index.html') -Value $Text
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
        (Invoke-Ingress 'http://web.example.test/').Body | Should -Be 'hello from web'
    }

    It 'Set-VmHost -IngressDomain gives every VM a default route, which cannot be removed alone' {
        Set-VmHost -IngressDomain vms.example.test
        $default = Get-VmIngress -VmName web | Where-Object IsDefault
        $default.Hostname | Should -Be 'web.vms.example.test'
        $default.Public | Should -BeFalse
        $errors = Get-VmError { Remove-VmIngress web.vms.example.test }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'IngressRouteIsDefault,*'
        Set-VmHost -IngressDomain ''
        Get-VmIngress | Where-Object IsDefault | Should -BeNullOrEmpty
    }

    It 'Remove-VmIngress stops serving the route, and ends Caddy with the last one' {
        Get-VmIngress web.example.test | Remove-VmIngress
        Get-VmIngress | Should -BeNullOrEmpty
        Test-Path (Join-Path $Ingress 'caddy.pid') | Should -BeFalse
    }
}
