#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What VmPs output looks like (issue 11 §3): every default view in VmPs.Format.ps1xml within 80 columns, and the
# output objects clean in ConvertTo-Json (without -EnumsAsStrings) and Export-Csv (each value once, enums as names,
# no type names in cells).
# Nothing here boots a VM. Networks live in a network namespace of this file's own.

BeforeDiscovery {
    [xml] $formats = Get-Content (Join-Path $PSScriptRoot '../../module/VmPs.Format.ps1xml')
    $Views = foreach ($view in $formats.Configuration.ViewDefinitions.View) {
        @{
            Name     = $view.Name
            TypeName = $view.ViewSelectedBy.TypeName
            Labels   = @($view.TableControl.TableHeaders.TableColumnHeader.Label | Where-Object { $_ })
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Initialize-VmPsTestState -Purpose output -Namespace

    # An object of a VmPs output type with realistic, long-ish values in every property it can set: names longer
    # than the columns, the longest enum names, big sizes, a day-long duration, two items in each list.
    function New-VmPsSample([type] $Type, [string] $Property = '', [int] $Depth = 0) {
        $Type = [Nullable]::GetUnderlyingType($Type) ?? $Type
        if ($Type -eq [string]) {
            switch -Wildcard ($Property) {
                '*Mac*' { return '52:54:00:a1:b2:c3' }
                '*Subnet*' { return '192.168.100.0/24' }
                '*Address*' { return '192.168.100.200' }
                { $_ -like '*Path*' -or $_ -like '*Directory*' } { return '/var/lib/vmps/volumes/web-frontend-eu-west-01.img' }
                default { return 'web-frontend-eu-west-01' }
            }
        }
        if ($Type -in [int], [uint32], [long], [uint16]) { return [Convert]::ChangeType(4096, $Type) }
        if ($Type -eq [bool]) { return $true }
        if ($Type -eq [guid]) { return [guid]::NewGuid() }
        if ($Type -eq [datetimeoffset]) { return [datetimeoffset]::UtcNow.AddDays(-3) }
        if ($Type -eq [timespan]) { return [timespan]::new(12, 3, 4, 5) }
        if ($Type.IsEnum) { return [enum]::GetValues($Type) | Sort-Object { "$_".Length } | Select-Object -Last 1 }
        if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [System.Collections.Generic.IReadOnlyList`1]) {
            $element = $Type.GetGenericArguments()[0]
            $list = [System.Collections.Generic.List`1].MakeGenericType($element)::new()
            if ($Depth -lt 3) { 1..2 | ForEach-Object { $list.Add((New-VmPsSample $element $Property ($Depth + 1)).psobject.BaseObject) } }
            return , $list
        }
        if ($Depth -ge 3 -or $Type.IsInterface -or $Type.IsAbstract -or $Type.IsArray) { return $null }
        $constructor = $Type.GetConstructors() | Sort-Object { $_.GetParameters().Count } | Select-Object -First 1
        $arguments = @($constructor.GetParameters() | ForEach-Object { (New-VmPsSample $_.ParameterType $_.Name ($Depth + 1)).psobject.BaseObject })
        $instance = $constructor.Invoke($arguments)
        foreach ($member in $Type.GetProperties() | Where-Object { $_.SetMethod.IsPublic }) {
            $value = New-VmPsSample $member.PropertyType $member.Name ($Depth + 1)
            if ($null -ne $value) { $member.SetValue($instance, $value.psobject.BaseObject) }
        }
        $instance
    }

    function Get-Rendered($InputObject) {
        ($InputObject | Out-String -Width 80) -split "`r?`n"
    }
}

AfterAll {
    Clear-VmPsTestState
}

Describe 'Default views fit 80 columns' {
    It 'the <Name> view renders <TypeName> within 80 columns, every column shown whole' -ForEach $Views {
        $lines = Get-Rendered (New-VmPsSample ([type] $TypeName))
        $lines | Where-Object Length -GT 80 | Should -BeNullOrEmpty
        if ($Labels) {
            # The header line: a label that did not fit is cut or wrapped, and its column gone.
            $header = @($lines | Where-Object { $_ -match '\S' })[0] -split '\s+' | Where-Object { $_ }
            $header | Should -Be $Labels
        }
    }

    It 'Get-VmHost''s report, as this host gives it, fits 80 columns' {
        Get-Rendered (Get-VmHost) | Where-Object Length -GT 80 | Should -BeNullOrEmpty
    }

    It 'Get-Vm shows Name, State, Cpus, MemoryMiB, IPAddress, Network and Uptime' {
        $view = Get-Rendered (New-VmPsSample ([VmPs.Core.Vms.VmInfo]))
        ($view | Where-Object { $_ -match '\S' })[0] -split '\s+' | Should -Be @('Name', 'State', 'Cpus', 'MemoryMiB', 'IPAddress', 'Network', 'Uptime')
    }

    It 'command results show ExitCode, Stdout and Stderr, each on one line' {
        $result = [VmPs.Core.Vms.VmCommandResult] @{
            VmName = 'web'; Command = [string[]] ('sh', '-c', 'ls /nope; echo done'); ExitCode = 2; Stdout = "done`nagain"
            Stderr = 'ls: /nope: No such file or directory'; Duration = [timespan]::FromMilliseconds(20)
        }
        $lines = @(Get-Rendered $result | Where-Object { $_ -match '\S' })
        $lines[0] -split '\s+' | Should -Be @('VmName', 'ExitCode', 'Stdout', 'Stderr')
        $lines[2] | Should -Match '^web\s+2 done again\s+ls: /nope: No such file'
        $lines.Count | Should -Be 3
    }
}

Describe 'ConvertTo-Json and Export-Csv' {
    BeforeAll {
        $layout = New-TestImageLayout (Join-Path $TestDrive 'image')
        New-VmNetwork -Name outlab -Subnet 10.151.0.0/24 | Out-Null
        New-VmVolume -Name outvol -SizeGB 1 | Out-Null
        New-Vm -Name outvm -Image (New-VmImage -Path $layout -Name outimg).Name -Network outlab -Volume outvol:/srv | Out-Null
        Checkpoint-Vm outvm -CheckpointName outcp
        $script:Objects = @{
            Vm            = Get-Vm outvm
            Image         = Get-VmImage outimg
            Network       = Get-VmNetwork outlab
            Volume        = Get-VmVolume outvol
            Checkpoint    = Get-VmCheckpoint outvm outcp
            CommandResult = [VmPs.Core.Vms.VmCommandResult] @{
                VmName = 'outvm'; Command = [string[]] ('cat', '/etc/hostname'); ExitCode = 0; Stdout = "outvm`n"; Stderr = ''
                Duration = [timespan]::FromMilliseconds(12)
            }
        }
    }

    It 'a <_> gives each value once in Export-Csv, enums as names and no type names in cells' -ForEach 'Vm', 'Image', 'Network', 'Volume', 'Checkpoint', 'CommandResult' {
        $object = $Objects[$_]
        $csv = Join-Path $TestDrive "$_.csv"
        $object | Export-Csv -LiteralPath $csv
        $row = Import-Csv -LiteralPath $csv
        $columns = $row.psobject.Properties.Name
        $columns | Group-Object | Where-Object Count -GT 1 | Should -BeNullOrEmpty
        # Group-Object ignores case: VMName beside VmName is a repeat too.
        $columns -ccontains 'MemoryMB' | Should -BeFalse -Because 'an alias repeats MemoryMiB'
        if ($columns -contains 'CreatedAt') { $columns | Should -Not -Contain 'Created' -Because 'an alias repeats CreatedAt' }
        foreach ($column in $row.psobject.Properties) {
            $column.Value | Should -Not -Match '^System\.|`\d\[|\[System\.|^VmPs\.|\{ \w+ = ' -Because "$($column.Name) should read as its value"
        }
        foreach ($property in $object.psobject.BaseObject.GetType().GetProperties() | Where-Object { ([Nullable]::GetUnderlyingType($_.PropertyType) ?? $_.PropertyType).IsEnum }) {
            $value = $property.GetValue($object.psobject.BaseObject)
            if ($null -ne $value) { $row.($property.Name) | Should -BeExactly $value.ToString() }
        }
    }

    It 'a <_> gives each value once in plain ConvertTo-Json, enums as names, and ConvertFrom-Json gives it back' -ForEach 'Vm', 'Image', 'Network', 'Volume', 'Checkpoint', 'CommandResult' {
        $object = $Objects[$_]
        $json = $object | ConvertTo-Json -Depth 4
        # Read back and written again, the same text: names parse as the values they were.
        $json | ConvertFrom-Json | ConvertTo-Json -Depth 4 | Should -BeExactly $json
        $parsed = $json | ConvertFrom-Json -AsHashtable
        $parsed.Keys | Group-Object | Where-Object Count -GT 1 | Should -BeNullOrEmpty
        $parsed.Keys -ccontains 'MemoryMB' | Should -BeFalse
        if ($parsed.Keys -contains 'CreatedAt') { $parsed.Keys | Should -Not -Contain 'Created' }
        $json | Should -Not -Match '"System\.|`\d\['
        foreach ($property in $object.psobject.BaseObject.GetType().GetProperties() | Where-Object { ([Nullable]::GetUnderlyingType($_.PropertyType) ?? $_.PropertyType).IsEnum }) {
            $value = $property.GetValue($object.psobject.BaseObject)
            if ($null -ne $value) {
                $parsed[$property.Name] | Should -BeExactly $value.ToString()
                $parsed[$property.Name] -as $property.PropertyType | Should -Be $value
            }
        }
    }

    # Every enum a VmPs cmdlet can output, at any depth, not only those the objects above happen to hold. The
    # framework's (UnixFileMode) are pwsh's business. FileKind (GuestFileInfo.Type) lives in VmPs.Protocol, which the
    # guest's NativeAOT build shares, so it cannot name Newtonsoft.Json's converter.
    It 'every VmPs enum on an output type is a name in plain ConvertTo-Json' {
        $seen = [System.Collections.Generic.HashSet[type]]::new()
        $enums = [System.Collections.Generic.List[type]]::new()
        $walk = {
            param([type] $Type)
            $Type = [Nullable]::GetUnderlyingType($Type) ?? $Type
            if (-not $seen.Add($Type)) { return }
            if ($Type.IsEnum) { if ($Type.Namespace -like 'VmPs.Core*') { $enums.Add($Type) }; return }
            if ($Type.IsArray) { & $walk $Type.GetElementType(); return }
            $Type.GenericTypeArguments | ForEach-Object { & $walk $_ }
            if ($Type.Namespace -like 'VmPs.*') { $Type.GetProperties() | ForEach-Object { & $walk $_.PropertyType } }
        }
        (Get-Command -Module VmPs).OutputType.Type | ForEach-Object { & $walk $_ }
        $enums.Count | Should -BeGreaterThan 10
        foreach ($enum in $enums) {
            $value = [enum]::GetValues($enum) | Select-Object -Last 1
            ConvertTo-Json -Compress -InputObject @{ Value = $value } | Should -BeExactly "{`"Value`":`"$value`"}" -Because "$($enum.FullName) is an output enum"
        }
    }

    It 'the hidden aliases still answer by name and bind by property name' {
        $Objects.Vm.VMName | Should -Be 'outvm'
        $Objects.Vm.MemoryMB | Should -Be $Objects.Vm.MemoryMiB
        $Objects.Image.Created | Should -Be $Objects.Image.CreatedAt
        $Objects.Image.Entrypoint | Should -Be @('/bin/sh')
        ($Objects.Vm | Get-Member -Name VMName) | Should -BeNullOrEmpty
        ($Objects.Vm | Get-Member -Name VMName -Force).MemberType | Should -Be 'AliasProperty'
        (Get-VmCheckpoint -VmName outvm | Select-Object -First 1).VmName | Should -Be 'outvm'
        # An exported VM row creates a VM again: MemoryMiB binds to New-Vm's -MemoryMB through its alias.
        $row = $Objects.Vm | Select-Object Name, Image, Cpus, MemoryMiB | ConvertTo-Csv | ConvertFrom-Csv
        $row.Name = 'outvm2'
        ($row | New-Vm).MemoryMiB | Should -Be $Objects.Vm.MemoryMiB
        Remove-Vm outvm2 -Force
    }
}
