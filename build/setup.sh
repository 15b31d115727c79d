#!/usr/bin/env bash
# The README's first command: sets up a fresh Debian 12 or Ubuntu 24.04 host for VmPs and runs the main job.
#   1. the Debian packages VmPs and its build need (through sudo when not root)
#   2. PowerShell 7.6.10 as a .NET global tool (needs the .NET SDK 10, see the README)
#   3. build.ps1 Install: a Release build, installed into the user's module folder
#      (~/.local/share/powershell/Modules/VmPs/<version>), so `Import-Module VmPs` works in any session
#   4. the main job on the built-in image: boot busybox, run one command in it, remove the VM
# Run it as the user who will use VmPs. Every step is skipped when already done, so it can run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source build/host.sh

if ! command -v dotnet >/dev/null; then
    # Ubuntu ships the SDK in its archive; Debian does not (it comes from Microsoft's package repository there).
    if [[ $(. /etc/os-release && echo "$ID") == ubuntu ]]; then
        vmps_install_packages dotnet-sdk-10.0
    else
        echo "The .NET SDK 10 is needed to build VmPs: install it (Microsoft's guide 'Install .NET on Debian'), then run this again." >&2
        exit 1
    fi
fi

vmps_install_packages "${VMPS_RUNTIME_PACKAGES[@]}" "${VMPS_BUILD_PACKAGES[@]}"
pwsh=$(vmps_pwsh)
"$pwsh" -NoProfile -NonInteractive -File build.ps1 -Task Install

echo "== the main job: boot busybox and run a command in it" >&2
"$pwsh" -NoProfile -NonInteractive -Command '
    $ErrorActionPreference = "Stop"
    Import-Module VmPs
    $name = "vmps-setup-$PID"
    try {
        New-Vm -Name $name -Image busybox | Start-Vm -PassThru | Invoke-VmCommand -Command uname, -a | Format-List VmName, ExitCode, Stdout
    }
    finally {
        Remove-Vm -Name $name -Force -Confirm:$false -ErrorAction Ignore
    }'
echo "VmPs is installed: start pwsh ($pwsh) and run Import-Module VmPs." >&2
