@{
    RootModule           = 'VmPs.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f3c2a8e-4b71-4f0e-9d35-1c7b2e9a5d10'
    Author               = 'The VmPs authors'
    Copyright            = '(c) 2026 The VmPs authors. MIT License.'
    Description          = 'MicroVMs on Linux from PowerShell: OCI images booted on Cloud Hypervisor or QEMU, with a guest agent for commands.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    # Imported before the cmdlets: it loads the engine and its libraries from bin/ into a load context of their own.
    NestedModules        = @('VmPs.Loader.dll')
    TypesToProcess       = @('VmPs.Types.ps1xml')
    FormatsToProcess     = @('VmPs.Format.ps1xml')
    CmdletsToExport      = @(
        'Get-VmHost'
        'Set-VmHost'
        'Build-VmKernel'
        'New-Vm'
        'Get-Vm'
        'Start-Vm'
        'Stop-Vm'
        'Restart-Vm'
        'Set-Vm'
        'Export-VmSpec'
        'Import-VmSpec'
        'Suspend-Vm'
        'Resume-Vm'
        'Save-Vm'
        'Measure-Vm'
        'Checkpoint-Vm'
        'Copy-Vm'
        'Get-VmCheckpoint'
        'Restore-VmCheckpoint'
        'Remove-VmCheckpoint'
        'Remove-Vm'
        'Enter-Vm'
        'Invoke-VmCommand'
        'Copy-VmFile'
        'New-VmImage'
        'Get-VmImage'
        'Remove-VmImage'
        'Clear-VmImageCache'
        'Get-VmLog'
        'Get-VmNetworkAdapter'
        'New-VmNetwork'
        'Get-VmNetwork'
        'Remove-VmNetwork'
        'Repair-VmNetwork'
        'Add-VmPortMapping'
        'Get-VmPortMapping'
        'Remove-VmPortMapping'
        'New-VmVolume'
        'Get-VmVolume'
        'Remove-VmVolume'
        'Copy-VmVolume'
        'Resize-VmVolume'
        'Mount-VmVolume'
        'Dismount-VmVolume'
        'Resize-VmDisk'
        'New-VmUser'
        'Get-VmUser'
        'Set-VmUser'
        'Remove-VmUser'
        'Add-VmUserKey'
        'Remove-VmUserKey'
        'Set-VmQuota'
        'New-VmUserToken'
        'Grant-VmAccess'
        'Revoke-VmAccess'
        'New-VmIngress'
        'Get-VmIngress'
        'Remove-VmIngress'
        'Start-VmSshGateway'
        'Stop-VmSshGateway'
        'Get-VmSshGateway'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('VM', 'MicroVM', 'CloudHypervisor', 'QEMU', 'Linux', 'OCI')
            ProjectUri   = 'https://github.com/vmps/vmps'
            LicenseUri   = 'https://github.com/vmps/vmps/blob/main/LICENSE'
            ReleaseNotes = 'First release: VMs, images, guests, networks, volumes, checkpoints and declarative VM specs. See CHANGELOG.md (https://github.com/vmps/vmps/blob/main/CHANGELOG.md).'
        }
    }
}
