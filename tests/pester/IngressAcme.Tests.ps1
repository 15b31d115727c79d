#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# New-VmIngress -Tls Acme against Debian's pebble (a real ACME server, validating for real): pebble and VmPs's Caddy run
# in the test's network namespace, where the host names resolve to the namespace's loopback (/etc/netns/NS/hosts, which
# `ip netns exec` mounts over /etc/hosts for pebble), so pebble reaches Caddy's HTTP-01 and TLS-ALPN-01 answers on
# ports 80 and 443. A busybox httpd stands in for the (unbooted) VM.

BeforeDiscovery {
    $Missing = @(
        if ((id -u) -ne 0) { 'root' }
        foreach ($program in 'pebble', 'caddy', 'curl', 'openssl', 'busybox', 'ip') { if (-not (Get-Command $program -ErrorAction Ignore)) { $program } }
    )
    $CannotAcme = $Missing.Count -gt 0
    if ($CannotAcme) { Write-Warning "IngressAcme.Tests.ps1 skips: it needs $($Missing -join ', ')" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    if ((id -u) -eq 0 -and (Get-Command pebble -ErrorAction Ignore) -and (Get-Command caddy -ErrorAction Ignore)) {
        Initialize-VmPsTestState -Purpose acme -Namespace
        $script:Work = Join-Path $StateDirectory 'acme-test'
        New-Item -ItemType Directory -Path $Work | Out-Null
        $script:NetnsEtc = "/etc/netns/$NetworkNamespace"
        New-Item -ItemType Directory -Path $NetnsEtc -Force | Out-Null
        Set-Content -LiteralPath "$NetnsEtc/hosts" -Value "127.0.0.1 localhost`n127.0.0.1 acme.example.test`n127.0.0.1 alpn.example.test`n127.0.0.1 http01.example.test`n127.0.0.1 tlsalpn.example.test`n"

        # pebble's own HTTPS: a CA of the test's and a certificate for 127.0.0.1.
        $script:PebbleCa = Join-Path $Work 'pebble-ca.pem'
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=VmPs test pebble CA' -keyout "$Work/ca.key" -out $PebbleCa 2>$null
        openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout "$Work/pebble.key" -out "$Work/pebble.csr" 2>$null
        Set-Content -LiteralPath "$Work/san.ext" -Value 'subjectAltName=IP:127.0.0.1'
        openssl x509 -req -in "$Work/pebble.csr" -CA $PebbleCa -CAkey "$Work/ca.key" -CAcreateserial -days 2 -extfile "$Work/san.ext" -out "$Work/pebble.pem" 2>$null
        @{ pebble = @{
                listenAddress = '127.0.0.1:14000'; managementListenAddress = '127.0.0.1:15000'
                certificate = "$Work/pebble.pem"; privateKey = "$Work/pebble.key"
                httpPort = 80; tlsPort = 443; ocspResponderURL = ''; externalAccountBindingRequired = $false
            } } | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath "$Work/pebble.json"
        $script:Pebble = Start-Process -FilePath ip -PassThru -RedirectStandardOutput "$Work/pebble.log" -RedirectStandardError "$Work/pebble.err" -ArgumentList @(
            'netns', 'exec', $NetworkNamespace, 'env', 'PEBBLE_VA_NOSLEEP=1', 'PEBBLE_WFE_NONCEREJECT=0', 'pebble', '-config', "$Work/pebble.json")

        function script:Invoke-Namespace([string[]] $Curl) { ip netns exec $NetworkNamespace curl -s --max-time 30 @Curl }

        # Bounded waits (no timing is asserted).
        function script:Wait-Until([scriptblock] $Condition, [string] $What) {
            foreach ($attempt in 1..300) {
                if (& $Condition) { return }
                Start-Sleep -Milliseconds 200
            }
            throw "waited 60 s for $What"
        }

        ip -n $NetworkNamespace link set lo up
        Wait-Until { Invoke-Namespace '--cacert', $PebbleCa, '-o', '/dev/null', 'https://127.0.0.1:14000/dir'; $LASTEXITCODE -eq 0 } 'pebble'
        $null = New-VmNetwork -Name acmenet -Subnet 10.154.0.0/24
        $vm = New-Vm -Name web -Network acmenet
        ip -n $NetworkNamespace addr add "$($vm.IPAddress)/32" dev lo
        $script:Root = Join-Path $Work 'www'
        New-Item -ItemType Directory -Path $root | Out-Null
        Set-Content -LiteralPath (Join-Path $root 'index.html') -Value 'hello over acme'
        $script:StandIn = Start-Process -FilePath ip -PassThru -ArgumentList 'netns', 'exec', $NetworkNamespace, 'busybox', 'httpd', '-f', '-p', "$($vm.IPAddress):8080", '-h', $Root
    }
}

AfterAll {
    if ($StateDirectory) {
        foreach ($process in $Pebble, $StandIn, $Squatter) { if ($process) { Stop-Process -Id $process.Id -ErrorAction SilentlyContinue } }
        Get-VmIngress -ErrorAction SilentlyContinue | Remove-VmIngress -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $NetnsEtc -Recurse -Force -ErrorAction SilentlyContinue
        Clear-VmPsTestState
    }
}

Describe 'routes with -Tls Acme' -Skip:$CannotAcme {
    It 'Set-VmHost refuses ACME settings it cannot use, before anything is stored' -ForEach @(
        @{ Arguments = @{ AcmeDirectory = 'http://127.0.0.1:14000/dir' }; ErrorId = 'InvalidAcmeDirectory' }
        @{ Arguments = @{ AcmeDirectory = 'not a url' }; ErrorId = 'InvalidAcmeDirectory' }
        @{ Arguments = @{ AcmeDirectory = 'https://127.0.0.1:14000/dir'; AcmeEmail = 'no at sign' }; ErrorId = 'InvalidEmail' }
        @{ Arguments = @{ AcmeDirectory = 'https://127.0.0.1:14000/dir'; AcmeRootCertificate = '/nonexistent/ca.pem' }; ErrorId = 'InvalidAcmeRootCertificate' }
        @{ Arguments = @{ AcmeDirectory = 'https://127.0.0.1:14000/dir'; AcmeRootCertificate = '/etc/hostname' }; ErrorId = 'InvalidAcmeRootCertificate' }
        @{ Arguments = @{ AcmeDirectory = 'https://127.0.0.1:14000/dir'; AcmeChallenge = 0 }; ErrorId = 'InvalidAcmeChallenges' }
    ) {
        { Set-VmHost @Arguments } | Should -Throw -ErrorId "$ErrorId,*"
    }

    It 'gets a certificate from the ACME CA, validated by pebble through Caddy, and serves HTTPS with it' {
        $acme = (Set-VmHost -AcmeDirectory https://127.0.0.1:14000/dir -AcmeEmail admin@example.test -AcmeRootCertificate $PebbleCa -PassThru).Ingress.Acme
        $acme.Directory | Should -Be 'https://127.0.0.1:14000/dir'
        $acme.Email | Should -Be 'admin@example.test'
        $acme.TrustedRootFile | Should -Be $PebbleCa
        (Get-VmHost | Format-List | Out-String -Width 80) | Should -Match 'AcmeDirectory\s+: https://127\.0\.0\.1:14000/dir\s+Http01, TlsAlpn01, admin@example\.test'
        $route = New-VmIngress web acme.example.test -Tls Acme -Public -Port 8080
        $route.Tls | Should -Be 'Acme'
        Wait-Until { (Get-VmIngress acme.example.test).CertificateStatus -like 'Valid until*' } 'the certificate'
        (Get-VmIngress acme.example.test).CertificateStatus | Should -BeLike '*Pebble*'

        # Pebble's issuing root exists only while it runs: fetched from its management API.
        Invoke-Namespace '--cacert', $PebbleCa, '-o', "$Work/pebble-root.pem", 'https://127.0.0.1:15000/roots/0'
        $answer = Invoke-Namespace '--cacert', "$Work/pebble-root.pem", '--resolve', 'acme.example.test:443:127.0.0.1', 'https://acme.example.test/'
        $LASTEXITCODE | Should -Be 0
        $answer | Should -Be 'hello over acme'
    }

    It 'says why a route has no certificate when the CA refuses it, and keeps serving the others' {
        # Not in the namespace's hosts file: pebble cannot resolve it, so validation fails.
        $null = New-VmIngress web lost.example.test -Tls Acme -Public -Port 8080
        Wait-Until { (Get-VmIngress lost.example.test).CertificateStatus -like 'Failed: *' } 'the failure'
        (Get-VmIngress lost.example.test).CertificateStatus | Should -BeLike '*lost.example.test*'
        (Get-VmIngress acme.example.test).CertificateStatus | Should -BeLike 'Valid until*'
        Invoke-Namespace '--cacert', "$Work/pebble-root.pem", '--resolve', 'acme.example.test:443:127.0.0.1', 'https://acme.example.test/' | Should -Be 'hello over acme'
    }

    It 'proves a host name by TLS-ALPN-01 when port 80 answers for someone else' {
        $script:Squatter = Start-Process -FilePath ip -PassThru -ArgumentList 'netns', 'exec', $NetworkNamespace, 'busybox', 'httpd', '-f', '-p', '0.0.0.0:80', '-h', $Root
        Wait-Until { Invoke-Namespace '-o', '/dev/null', 'http://127.0.0.1/'; $LASTEXITCODE -eq 0 } 'the squatter on port 80'
        $null = New-VmIngress web alpn.example.test -Tls Acme -Public -Port 8080
        Wait-Until { (Get-VmIngress alpn.example.test).CertificateStatus -like 'Valid until*' } 'the certificate'
        Stop-Process -Id $Squatter.Id
        $solved = Get-Content (Join-Path $StateDirectory 'ingress/caddy.log') | Where-Object { $_ -like '*"identifier":"alpn.example.test"*' -and $_ -like '*"challenge_type":"tls-alpn-01"*' }
        $solved | Should -Not -BeNullOrEmpty
        Invoke-Namespace '--cacert', "$Work/pebble-root.pem", '--resolve', 'alpn.example.test:443:127.0.0.1', 'https://alpn.example.test/' | Should -Be 'hello over acme'
    }

    It 'answers only the challenges Set-VmHost -AcmeChallenge allows: <Challenge>' -ForEach @(
        @{ Challenge = 'Http01'; Hostname = 'http01.example.test'; Used = 'http-01'; Unused = 'tls-alpn-01'; Disabled = 'tls-alpn' }
        @{ Challenge = 'TlsAlpn01'; Hostname = 'tlsalpn.example.test'; Used = 'tls-alpn-01'; Unused = 'http-01'; Disabled = 'http' }
    ) {
        Set-VmHost -AcmeDirectory https://127.0.0.1:14000/dir -AcmeEmail admin@example.test -AcmeRootCertificate $PebbleCa -AcmeChallenge $Challenge
        # Caddy's live configuration, from its admin socket (which admits the host name vmps only): the other
        # challenge is off for every ACME route.
        $policies = curl -s --unix-socket (Join-Path $StateDirectory 'ingress/caddy-admin.sock') http://vmps/config/apps/tls/automation/policies | ConvertFrom-Json
        $issuers = @($policies.issuers | Where-Object module -eq 'acme')
        $issuers.Count | Should -BeGreaterThan 0
        $issuers | ForEach-Object { $_.challenges.$Disabled.disabled | Should -BeTrue }
        $null = New-VmIngress web $Hostname -Tls Acme -Public -Port 8080
        Wait-Until { (Get-VmIngress $Hostname).CertificateStatus -like 'Valid until*' } 'the certificate'
        $attempts = Get-Content (Join-Path $StateDirectory 'ingress/caddy.log') | Where-Object { $_ -like "*`"identifier`":`"$Hostname`"*" -and $_ -like '*"challenge_type":*' }
        $attempts | Where-Object { $_ -like "*`"challenge_type`":`"$Used`"*" } | Should -Not -BeNullOrEmpty
        $attempts | Where-Object { $_ -like "*`"challenge_type`":`"$Unused`"*" } | Should -BeNullOrEmpty
        Invoke-Namespace '--cacert', "$Work/pebble-root.pem", '--resolve', "${Hostname}:443:127.0.0.1", "https://$Hostname/" | Should -Be 'hello over acme'
    }
}
