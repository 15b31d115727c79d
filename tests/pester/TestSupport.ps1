# Shared by the Pester files that dot-source it: a private state directory (and network namespace) per file, the
# module imported from the built folder, and small helpers. Not a test file itself (no .Tests.ps1).

# Imports out/VmPs with VMPS_HOME (and with -Namespace, VMPS_NETNS) pointing at a directory of this run alone.
function Initialize-VmPsTestState([string] $Purpose, [switch] $Namespace) {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "vmps-pester-$Purpose-$([guid]::NewGuid().ToString('n'))"
    $env:VMPS_HOME = $StateDirectory
    if ($Namespace) {
        $script:NetworkNamespace = 'vmpst-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        ip netns add $NetworkNamespace
        $env:VMPS_NETNS = $NetworkNamespace
    }
    Import-Module (Join-Path $RepoRoot 'out/VmPs') -Force -ErrorAction Stop
}

# Removes what Initialize-VmPsTestState made, and every VM and network the file left.
function Clear-VmPsTestState {
    Get-Vm -ErrorAction SilentlyContinue | Remove-Vm -Force -ErrorAction SilentlyContinue
    if ($env:VMPS_NETNS) {
        Get-VmNetwork -ErrorAction SilentlyContinue | Remove-VmNetwork -Force -ErrorAction SilentlyContinue
    }
    Remove-Module VmPs -ErrorAction SilentlyContinue
    if ($script:NetworkNamespace) {
        ip netns del $NetworkNamespace
        Remove-Item Env:VMPS_NETNS
    }
    Remove-Item -LiteralPath $StateDirectory -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:VMPS_HOME
}

# The non-terminating errors the action wrote, without showing them.
function Get-VmError([scriptblock] $Action) {
    & $Action 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
}

# An OCI image layout with one layer (busybox as /bin/sh) and an entrypoint, tagged v1, built by umoci.
function New-TestImageLayout([string] $Directory) {
    $layout = Join-Path $Directory 'layout'
    $bundle = Join-Path $Directory 'bundle'
    umoci init --layout $layout
    umoci new --image "${layout}:v1"
    umoci unpack --image "${layout}:v1" $bundle | Out-Null
    $bin = New-Item -ItemType Directory -Path (Join-Path $bundle 'rootfs/bin') -Force
    Copy-Item /bin/busybox (Join-Path $bin 'busybox')
    New-Item -ItemType SymbolicLink -Path (Join-Path $bin 'sh') -Target busybox | Out-Null
    umoci repack --image "${layout}:v1" $bundle
    umoci config --image "${layout}:v1" --config.entrypoint /bin/sh --config.env PATH=/bin --config.workingdir /
    if ($LASTEXITCODE -ne 0) { throw "umoci failed with exit code $LASTEXITCODE" }
    $layout
}

# Runs a script in a new runspace of this process whose host cannot prompt: a confirmation prompt there is an
# error, so a test sees whether a command asked. Returns the output and the errors.
function Invoke-WithoutPrompt([string] $Script) {
    $shell = [powershell]::Create()
    try {
        $null = $shell.AddScript("Import-Module '$RepoRoot/out/VmPs'; $Script")
        $output = $shell.Invoke()
        [pscustomobject]@{ Output = $output; Errors = @($shell.Streams.Error) }
    }
    catch {
        [pscustomobject]@{ Output = @(); Errors = @($_) }
    }
    finally {
        $shell.Dispose()
    }
}
