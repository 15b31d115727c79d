#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The module's help as Get-Help shows it (issue 11 §3): every exported cmdlet with its INPUTS, OUTPUTS, parameter
# defaults and related links; the about_ topic of each area; the manifest's project, licence and release notes.

BeforeDiscovery {
    $manifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../VmPs.psd1')
    $Cmdlets = $manifest.CmdletsToExport
    $Topics = 'about_VmPs', 'about_VmPs_Images', 'about_VmPs_Networks', 'about_VmPs_Guests', 'about_VmPs_Storage', 'about_VmPs_Checkpoints', 'about_VmPs_Access'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose help
    $script:ModuleDirectory = Join-Path $RepoRoot 'out/VmPs'
    $script:AreaTopics = Get-ChildItem (Join-Path $ModuleDirectory 'en-US') -Filter 'about_VmPs*.help.txt' | ForEach-Object { $_.Name -replace '\.help\.txt$' }
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Cmdlet help' {
    It '<_> has a synopsis, a description, examples, INPUTS and OUTPUTS' -ForEach $Cmdlets {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        ($help.description.Text -join '') | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $inputs = @($help.inputTypes.inputType)
        $inputs.Count | Should -BeGreaterThan 0
        $inputs | ForEach-Object { $_.type.name | Should -Not -BeNullOrEmpty; $_.description.Text | Should -Not -BeNullOrEmpty }
        $outputs = @($help.returnValues.returnValue.type.name)
        $declared = @((Get-Command $_).OutputType.Name)
        if ($declared) { $outputs | Should -Be $declared } else { $outputs | Should -Be @('None') }
    }

    It '<_> states every parameter''s default value' -ForEach $Cmdlets {
        foreach ($parameter in (Get-Help $_ -Full).parameters.parameter) {
            $parameter.defaultValue | Should -Not -BeNullOrEmpty -Because "-$($parameter.name) needs a default value"
            if ($parameter.type.name -eq 'System.Management.Automation.SwitchParameter') {
                $parameter.defaultValue | Should -Be 'False'
            }
        }
    }

    It '<_> links its area''s about topic, about_VmPs and the cmdlets of its noun' -ForEach $Cmdlets {
        $links = @((Get-Help $_ -Full).relatedLinks.navigationLink.linkText)
        $links | Should -Contain 'about_VmPs'
        foreach ($topic in $links -like 'about_*') { $topic | Should -BeIn $AreaTopics }
        $command = Get-Command $_
        foreach ($sibling in Get-Command -Module VmPs -Noun $command.Noun | Where-Object Name -NE $_) {
            $links | Should -Contain $sibling.Name
        }
    }

    It 'the defaults are the ones the cmdlets use' -ForEach @(
        @{ Command = 'Stop-Vm'; Parameter = 'TimeoutSec'; Default = '30' }
        @{ Command = 'Start-Vm'; Parameter = 'TimeoutSec'; Default = '120' }
        @{ Command = 'New-Vm'; Parameter = 'Cpus'; Default = '1' }
        @{ Command = 'New-Vm'; Parameter = 'MemoryMB'; Default = '512' }
        @{ Command = 'New-Vm'; Parameter = 'Image'; Default = 'busybox' }
        @{ Command = 'New-Vm'; Parameter = 'DiskSizeGB'; Default = '4' }
        @{ Command = 'New-VmVolume'; Parameter = 'Format'; Default = 'Ext4' }
        @{ Command = 'New-VmImage'; Parameter = 'Format'; Default = 'Erofs' }
        @{ Command = 'Get-VmLog'; Parameter = 'Source'; Default = 'Console' }
    ) {
        ((Get-Help $Command -Full).parameters.parameter | Where-Object name -EQ $Parameter).defaultValue | Should -Be $Default
    }

    It 'a cmdlet''s help links an area topic: Copy-VmVolume -> about_VmPs_Storage, Enter-Vm -> about_VmPs_Guests' {
        (Get-Help Copy-VmVolume -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Storage'
        (Get-Help Enter-Vm -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Guests'
        (Get-Help Restore-VmCheckpoint -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Checkpoints'
        (Get-Help Repair-VmNetwork -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Networks'
        (Get-Help Remove-VmImage -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Images'
        (Get-Help Set-VmQuota -Full).relatedLinks.navigationLink.linkText | Should -Contain 'about_VmPs_Access'
    }
}

Describe 'About topics' {
    It 'Get-Help <_> shows the topic, shipped in en-US' -ForEach $Topics {
        Test-Path (Join-Path $ModuleDirectory "en-US/$_.help.txt") | Should -BeTrue
        $text = Get-Help $_ | Out-String
        $text | Should -Match "(?m)^TOPIC\s+$_\s*$"
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'SEE ALSO'
    }

    It '<_> has no line wider than 80 columns, as shipped and as Get-Help shows it' -ForEach $Topics {
        $file = Join-Path $ModuleDirectory "en-US/$_.help.txt"
        $wide = Select-String -LiteralPath $file -Pattern '^.{81,}$'
        $wide | ForEach-Object { "line $($_.LineNumber): $($_.Line.Length) columns" } | Should -BeNullOrEmpty
        (Get-Help $_ | Out-String -Width 200) -split "`r?`n" | Where-Object Length -GT 80 | Should -BeNullOrEmpty
    }

    It 'about_VmPs leads to every area topic' -ForEach @{ Topics = $Topics } {
        $text = Get-Help about_VmPs | Out-String
        foreach ($topic in $Topics -ne 'about_VmPs') { $text | Should -Match $topic }
    }

    It 'Get-Help about_VmPs* lists the seven topics' -ForEach @{ Topics = $Topics } {
        @(Get-Help about_VmPs* | ForEach-Object Name | Sort-Object) | Should -Be @($Topics | Sort-Object)
    }
}

Describe 'The manifest' {
    BeforeAll {
        $script:Data = (Test-ModuleManifest (Join-Path $ModuleDirectory 'VmPs.psd1') -ErrorAction Stop).PrivateData.PSData
    }

    It 'has a project and a licence address, and release notes' {
        ([uri] $Data.ProjectUri).Scheme | Should -Be 'https'
        ([uri] $Data.LicenseUri).AbsolutePath | Should -BeLike '*/LICENSE'
        $Data.ReleaseNotes | Should -Match 'CHANGELOG'
    }

    It 'ships the MIT licence and the changelog of its version' {
        $license = Get-Content -Raw (Join-Path $ModuleDirectory 'LICENSE')
        $license | Should -Match '^MIT License'
        $license | Should -Match 'Copyright \(c\) \d{4} The VmPs authors'
        $version = (Import-PowerShellDataFile (Join-Path $ModuleDirectory 'VmPs.psd1')).ModuleVersion
        Get-Content -Raw (Join-Path $ModuleDirectory 'CHANGELOG.md') | Should -Match "(?m)^## $([regex]::Escape($version))\b"
    }
}
