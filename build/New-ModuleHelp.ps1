#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Writes module/VmPs.PowerShell.dll-Help.xml (MAML) from build/help/VmPs.Help.psd1 and the cmdlets' real
    parameter sets. Run after changing a cmdlet's parameters or its help text, with the module built.
#>
[CmdletBinding()]
param(
    [string] $ModuleDirectory = (Join-Path $PSScriptRoot '../out/VmPs'),
    [string] $Destination = (Join-Path $PSScriptRoot '../module/VmPs.PowerShell.dll-Help.xml')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$docs = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'help/VmPs.Help.psd1')
$module = Import-Module $ModuleDirectory -Force -PassThru
$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters
$shouldProcessHelp = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

# The about topic of each area, by noun (and for the cmdlets of an area whose noun is Vm); every cmdlet links to it,
# to about_VmPs and to the cmdlets that share its noun.
$areaTopics = @{
    VmImage = 'about_VmPs_Images'; VmImageCache = 'about_VmPs_Images'
    VmNetwork = 'about_VmPs_Networks'; VmNetworkAdapter = 'about_VmPs_Networks'; VmPortMapping = 'about_VmPs_Networks'
    'Invoke-VmCommand' = 'about_VmPs_Guests'; 'Enter-Vm' = 'about_VmPs_Guests'; VmFile = 'about_VmPs_Guests'; VmLog = 'about_VmPs_Guests'
    VmVolume = 'about_VmPs_Storage'; VmDisk = 'about_VmPs_Storage'
    'Checkpoint-Vm' = 'about_VmPs_Checkpoints'; VmCheckpoint = 'about_VmPs_Checkpoints'; 'Copy-Vm' = 'about_VmPs_Checkpoints'
    VmUser = 'about_VmPs_Access'; VmUserKey = 'about_VmPs_Access'; VmUserToken = 'about_VmPs_Access'; VmQuota = 'about_VmPs_Access'; VmAccess = 'about_VmPs_Access'; VmIngress = 'about_VmPs_Access'; VmSshGateway = 'about_VmPs_Access'
    Vm = 'about_VmPs'; VmSpec = 'about_VmPs'; VmHost = 'about_VmPs'; VmKernel = 'about_VmPs'
}

# A parameter's default: as the cmdlet's Defaults entry gives it, else as its help text states it: "(default 30)",
# "(default: the next free address)", or a value followed by "(default)"; a switch is False; otherwise None.
function Get-DefaultValue($Parameter, [string] $Description, [hashtable] $Defaults) {
    if ($Defaults -and $Defaults.ContainsKey($Parameter.Name)) { return $Defaults[$Parameter.Name] }
    if ($Description -match '\(default:? ([^)]+)\)') { return $Matches[1].TrimEnd('.', ';') }
    if ($Description -match '(\w+) \(default[,)]') { return $Matches[1] }
    if ($Parameter.ParameterType -eq [switch]) { return 'False' }
    'None'
}

$ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$writer = [System.Xml.XmlWriter]::Create((Resolve-Path -LiteralPath (Split-Path $Destination)).Path + '/' + (Split-Path $Destination -Leaf), $settings)

function Write-Para([string] $Prefix, [string] $Element, [string] $Text) {
    $writer.WriteStartElement($Prefix, $Element, $ns[$Prefix])
    $writer.WriteElementString('maml', 'para', $ns.maml, $Text)
    $writer.WriteEndElement()
}

function Write-Parameter($Parameter, [string] $Description, [hashtable] $Defaults) {
    $pipeline = @(
        if ($Parameter.ValueFromPipeline) { 'ByValue' }
        if ($Parameter.ValueFromPipelineByPropertyName) { 'ByPropertyName' }
    )
    $type = [Nullable]::GetUnderlyingType($Parameter.ParameterType) ?? $Parameter.ParameterType
    $writer.WriteStartElement('command', 'parameter', $ns.command)
    $writer.WriteAttributeString('required', "$($Parameter.IsMandatory)".ToLowerInvariant())
    $writer.WriteAttributeString('globbing', "$([bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
    $writer.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $writer.WriteAttributeString('position', $(if ($Parameter.Position -ge 0) { "$($Parameter.Position)" } else { 'named' }))
    $writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Name)
    Write-Para maml description $Description
    if ($Parameter.ParameterType -ne [switch]) {
        $writer.WriteStartElement('command', 'parameterValue', $ns.command)
        $writer.WriteAttributeString('required', 'true')
        $writer.WriteString($type.Name)
        $writer.WriteEndElement()
    }
    $writer.WriteStartElement('dev', 'type', $ns.dev)
    $writer.WriteElementString('maml', 'name', $ns.maml, $type.FullName)
    $writer.WriteEndElement()
    $writer.WriteElementString('dev', 'defaultValue', $ns.dev, (Get-DefaultValue $Parameter $Description $Defaults))
    $writer.WriteEndElement()
}

function Write-TypeItem([string] $Element, [string] $TypeName, [string] $Description) {
    $writer.WriteStartElement('command', $Element, $ns.command)
    $writer.WriteStartElement('dev', 'type', $ns.dev)
    $writer.WriteElementString('maml', 'name', $ns.maml, $TypeName)
    $writer.WriteEndElement()
    Write-Para maml description $Description
    $writer.WriteEndElement()
}

function Write-Link([string] $Text) {
    $writer.WriteStartElement('maml', 'navigationLink', $ns.maml)
    $writer.WriteElementString('maml', 'linkText', $ns.maml, $Text)
    $writer.WriteEndElement()
}

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', $ns.msh)
$writer.WriteAttributeString('schema', 'maml')
foreach ($command in Get-Command -Module $module.Name | Sort-Object Name) {
    $doc = $docs[$command.Name]
    if (-not $doc) { throw "build/help/VmPs.Help.psd1 has no entry for $($command.Name)." }
    $doc.Parameters += $shouldProcessHelp
    $ownParameters = @($command.Parameters.Keys | Where-Object { $_ -notin $commonParameters } | Sort-Object)
    $undocumented = @($ownParameters | Where-Object { -not $doc.Parameters.ContainsKey($_) })
    if ($undocumented) { throw "$($command.Name): no help for -$($undocumented -join ', -')." }

    $writer.WriteStartElement('command', 'command', $ns.command)
    $writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

    $writer.WriteStartElement('command', 'details', $ns.command)
    $writer.WriteElementString('command', 'name', $ns.command, $command.Name)
    $writer.WriteElementString('command', 'verb', $ns.command, $command.Verb)
    $writer.WriteElementString('command', 'noun', $ns.command, $command.Noun)
    Write-Para maml description $doc.Synopsis
    $writer.WriteEndElement()
    Write-Para maml description $doc.Description

    $writer.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $command.ParameterSets) {
        $writer.WriteStartElement('command', 'syntaxItem', $ns.command)
        $writer.WriteElementString('maml', 'name', $ns.maml, $command.Name)
        # Positional parameters first, by position; then mandatory ones; -WhatIf and -Confirm last.
        $inSyntaxOrder = $set.Parameters | Where-Object Name -notin $commonParameters | Sort-Object -Stable `
            @{ Expression = { $_.Name -in $shouldProcessHelp.Keys } },
            @{ Expression = { if ($_.Position -ge 0) { $_.Position } else { [int]::MaxValue } } },
            @{ Expression = { -not $_.IsMandatory } }
        foreach ($parameter in $inSyntaxOrder) {
            Write-Parameter $parameter $doc.Parameters[$parameter.Name] $doc['Defaults']
        }
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($name in $ownParameters) {
        $parameter = $command.ParameterSets.Parameters | Where-Object Name -eq $name | Select-Object -First 1
        Write-Parameter $parameter $doc.Parameters[$name] $doc['Defaults']
    }
    $writer.WriteEndElement()

    # INPUTS: what each parameter that takes the pipeline takes, by value or by property name; None without one.
    $writer.WriteStartElement('command', 'inputTypes', $ns.command)
    $pipelineParameters = @($command.ParameterSets.Parameters | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } | Sort-Object Name -Unique)
    foreach ($parameter in $pipelineParameters | Where-Object ValueFromPipeline) {
        $type = $parameter.ParameterType
        $element = if ($type.IsArray) { $type.GetElementType() } else { [Nullable]::GetUnderlyingType($type) ?? $type }
        Write-TypeItem inputType $element.FullName "By value, as -$($parameter.Name)."
    }
    $byPropertyName = @($pipelineParameters | Where-Object ValueFromPipelineByPropertyName | ForEach-Object Name)
    if ($byPropertyName) {
        Write-TypeItem inputType System.Management.Automation.PSObject "Objects whose properties $($byPropertyName -join ', ') bind to the parameters of those names (and their aliases)."
    }
    if (-not $pipelineParameters) {
        Write-TypeItem inputType None 'This cmdlet takes no pipeline input.'
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'returnValues', $ns.command)
    foreach ($output in $command.OutputType) {
        $description = if ($output.Name -eq 'System.Management.Automation.Job') { 'With -AsJob: the job, whose output Receive-Job returns.' } else { "$($output.Name.Split('.')[-1]) objects." }
        Write-TypeItem returnValue $output.Name $description
    }
    if (-not $command.OutputType) {
        Write-TypeItem returnValue None 'This cmdlet outputs nothing.'
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'examples', $ns.command)
    $number = 0
    foreach ($example in $doc.Examples) {
        $number++
        $writer.WriteStartElement('command', 'example', $ns.command)
        $writer.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $number --------------------------")
        $writer.WriteElementString('dev', 'code', $ns.dev, $example.Code)
        Write-Para dev remarks $example.Remarks
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'relatedLinks', $ns.command)
    $area = $areaTopics[$command.Name] ?? $areaTopics[$command.Noun]
    if (-not $area) { throw "$($command.Name): no about topic for its area in `$areaTopics." }
    foreach ($link in @($area, 'about_VmPs' | Select-Object -Unique) + @(Get-Command -Module $module.Name -Noun $command.Noun | Where-Object Name -NE $command.Name | ForEach-Object Name)) {
        Write-Link $link
    }
    $writer.WriteEndElement()

    $writer.WriteEndElement()
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()
Remove-Module $module
Get-Item $Destination
