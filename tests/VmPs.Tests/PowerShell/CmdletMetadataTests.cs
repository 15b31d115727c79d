using System.Reflection;
using System.Text.RegularExpressions;

namespace VmPs.Tests.PowerShell;

public sealed class CmdletMetadataTests : IDisposable
{
    private const int ConfirmImpactMedium = 2;
    private const int ConfirmImpactHigh = 3;

    private static readonly Dictionary<string, string[]> ExpectedOutputTypes = new()
    {
        ["Get-VmHost"] = ["VmPs.Core.Host.HostReport"],
        ["Set-VmHost"] = ["VmPs.Core.Host.HostReport"],
        ["Build-VmKernel"] = ["VmPs.Core.Kernels.VmPsKernel", "System.Management.Automation.Job"],
        ["New-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Get-Vm"] = ["VmPs.Core.Vms.VmInfo"],
        ["Start-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Stop-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Restart-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Set-Vm"] = ["VmPs.Core.Vms.VmInfo"],
        ["Export-VmSpec"] = ["System.String"],
        ["Import-VmSpec"] = ["VmPs.Core.Specs.VmSpecResult", "System.Management.Automation.Job"],
        ["Suspend-Vm"] = ["VmPs.Core.Vms.VmInfo"],
        ["Resume-Vm"] = ["VmPs.Core.Vms.VmInfo"],
        ["Save-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Measure-Vm"] = ["VmPs.Core.Metering.VmMeasurement"],
        ["Checkpoint-Vm"] = ["VmPs.Core.Vms.VmCheckpointInfo", "System.Management.Automation.Job"],
        ["Copy-Vm"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Get-VmCheckpoint"] = ["VmPs.Core.Vms.VmCheckpointInfo"],
        ["Restore-VmCheckpoint"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["Remove-VmCheckpoint"] = [],
        ["Remove-Vm"] = [],
        ["Invoke-VmCommand"] = ["VmPs.Core.Vms.VmCommandResult", "System.String", "System.Management.Automation.Job"],
        ["Enter-Vm"] = [],
        ["Copy-VmFile"] = ["VmPs.Core.Agent.GuestFileInfo", "System.IO.FileSystemInfo", "System.Management.Automation.Job"],
        ["New-VmImage"] = ["VmPs.Core.Images.ImageInfo", "System.Management.Automation.Job"],
        ["Get-VmImage"] = ["VmPs.Core.Images.ImageInfo"],
        ["Remove-VmImage"] = [],
        ["Clear-VmImageCache"] = ["VmPs.Core.Images.ImageCacheItem"],
        ["Get-VmLog"] = ["System.String", "VmPs.Protocol.Logs.InitLogRecord"],
        ["Get-VmNetworkAdapter"] = ["VmPs.Core.Network.NetworkAdapterInfo"],
        ["New-VmNetwork"] = ["VmPs.Core.Network.NetworkInfo"],
        ["Get-VmNetwork"] = ["VmPs.Core.Network.NetworkInfo"],
        ["Remove-VmNetwork"] = [],
        ["Repair-VmNetwork"] = ["VmPs.Core.Network.NetworkInfo"],
        ["Add-VmPortMapping"] = ["VmPs.Core.Network.PortMappingInfo"],
        ["Get-VmPortMapping"] = ["VmPs.Core.Network.PortMappingInfo"],
        ["Remove-VmPortMapping"] = [],
        ["New-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo", "System.Management.Automation.Job"],
        ["Get-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo"],
        ["Remove-VmVolume"] = [],
        ["Copy-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo", "System.Management.Automation.Job"],
        ["Resize-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo", "System.Management.Automation.Job"],
        ["Mount-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo"],
        ["Dismount-VmVolume"] = ["VmPs.Core.Volumes.VolumeInfo"],
        ["Resize-VmDisk"] = ["VmPs.Core.Vms.VmInfo", "System.Management.Automation.Job"],
        ["New-VmUser"] = ["VmPs.Core.Access.VmUser"],
        ["Get-VmUser"] = ["VmPs.Core.Access.VmUser"],
        ["Set-VmUser"] = ["VmPs.Core.Access.VmUser"],
        ["Remove-VmUser"] = [],
        ["Add-VmUserKey"] = ["VmPs.Core.Access.VmUserKey"],
        ["Remove-VmUserKey"] = [],
        ["Set-VmQuota"] = ["VmPs.Core.Access.VmUser"],
        ["New-VmUserToken"] = ["VmPs.Core.Access.VmUserToken"],
        ["Grant-VmAccess"] = ["VmPs.Core.Access.VmAccessGrant"],
        ["Revoke-VmAccess"] = [],
        ["New-VmIngress"] = ["VmPs.Core.Ingress.VmIngress"],
        ["Get-VmIngress"] = ["VmPs.Core.Ingress.VmIngress"],
        ["Remove-VmIngress"] = [],
        ["Start-VmSshGateway"] = ["VmPs.Core.SshGateway.SshGatewayInfo"],
        ["Stop-VmSshGateway"] = ["VmPs.Core.SshGateway.SshGatewayInfo"],
        ["Get-VmSshGateway"] = ["VmPs.Core.SshGateway.SshGatewayInfo"],
    };

    private static readonly string[] StateChangingCmdlets = ["Set-VmHost", "Build-VmKernel", "New-Vm", "Start-Vm", "Stop-Vm", "Restart-Vm", "Suspend-Vm", "Resume-Vm", "Save-Vm", "Checkpoint-Vm", "Copy-Vm", "Restore-VmCheckpoint", "Remove-VmCheckpoint", "Set-Vm", "Export-VmSpec", "Import-VmSpec", "Remove-Vm", "Invoke-VmCommand", "Copy-VmFile", "New-VmImage", "Remove-VmImage",
        "Clear-VmImageCache", "New-VmNetwork", "Remove-VmNetwork", "Repair-VmNetwork", "Add-VmPortMapping", "Remove-VmPortMapping",
        "New-VmVolume", "Remove-VmVolume", "Copy-VmVolume", "Resize-VmVolume", "Mount-VmVolume", "Dismount-VmVolume", "Resize-VmDisk",
        "New-VmUser", "Set-VmUser", "Remove-VmUser", "Add-VmUserKey", "Remove-VmUserKey", "Set-VmQuota", "New-VmUserToken", "Grant-VmAccess", "Revoke-VmAccess",
        "New-VmIngress", "Remove-VmIngress", "Start-VmSshGateway", "Stop-VmSshGateway"];

    private static readonly string[] CmdletsTakingVms = ["Start-Vm", "Stop-Vm", "Restart-Vm", "Suspend-Vm", "Resume-Vm", "Save-Vm", "Checkpoint-Vm", "Copy-Vm", "Set-Vm", "Export-VmSpec", "Remove-Vm", "Get-VmLog", "Resize-VmDisk", "Measure-Vm"];

    private readonly CmdletMetadata metadata = new();

    public void Dispose() => metadata.Dispose();

    [Fact]
    public void The_module_has_exactly_the_cmdlets_of_the_main_job()
    {
        Assert.Equal(ExpectedOutputTypes.Keys.Order(), metadata.Cmdlets().Select(cmdlet => cmdlet.Name).Order());
    }

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb()
    {
        // The reference assembly is PowerShell 5.1's; PowerShell 6 approved Build and Deploy (the module needs 7.4).
        var approved = metadata.ApprovedVerbs().Union(["Build", "Deploy"]).ToHashSet();
        Assert.Contains("Get", approved);
        Assert.All(metadata.Cmdlets(), cmdlet => Assert.Contains(cmdlet.Verb, approved));
    }

    [Fact]
    public void Every_cmdlet_declares_what_it_outputs()
    {
        Assert.All(metadata.Cmdlets(), cmdlet => Assert.Equal(ExpectedOutputTypes[cmdlet.Name], cmdlet.OutputTypeNames()));
    }

    [Fact]
    public void State_changing_cmdlets_support_WhatIf_and_Confirm_and_removals_confirm_by_default()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        Assert.All(cmdlets.Values, cmdlet => Assert.Equal(StateChangingCmdlets.Contains(cmdlet.Name), cmdlet.Named<bool>("SupportsShouldProcess")));
        Assert.Equal(ConfirmImpactHigh, cmdlets["Remove-Vm"].Named<int>("ConfirmImpact"));
        Assert.Equal(ConfirmImpactHigh, cmdlets["Remove-VmImage"].Named<int>("ConfirmImpact"));
        Assert.Equal(ConfirmImpactHigh, cmdlets["Restore-VmCheckpoint"].Named<int>("ConfirmImpact"));
        Assert.Equal(ConfirmImpactHigh, cmdlets["Remove-VmCheckpoint"].Named<int>("ConfirmImpact"));
    }

    [Fact]
    public void Checkpoint_cmdlets_take_checkpoint_objects_from_the_pipeline()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        foreach (var cmdlet in new[] { "Restore-VmCheckpoint", "Remove-VmCheckpoint" }.Select(name => cmdlets[name]))
        {
            var inputObject = cmdlet.Parameter("InputObject");
            Assert.Equal("VmPs.Core.Vms.VmCheckpointInfo[]", inputObject.PropertyType.FullName);
            Assert.All(ParameterAttributes(inputObject), parameter => Assert.True(Flag(parameter, "ValueFromPipeline"), cmdlet.Name));
            Assert.Equal("VmNameCompleter", CompleterOf(cmdlet.Parameter("VmName")));
        }

        Assert.Contains("SnapshotName", Aliases(cmdlets["Checkpoint-Vm"].Parameter("CheckpointName")));
        Assert.Equal("VmPs.Core.Vms.VmInfo[]", cmdlets["Get-VmCheckpoint"].Parameter("Vm").PropertyType.FullName);
    }

    [Fact]
    public void Image_cmdlets_take_wildcard_names_with_completion_and_Remove_VmImage_takes_image_objects()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        foreach (var name in new[] { cmdlets["Get-VmImage"].Parameter("Name"), cmdlets["Remove-VmImage"].Parameter("Name") })
        {
            Assert.Contains(name.GetCustomAttributesData(), attribute => attribute.AttributeType.Name == "SupportsWildcardsAttribute");
            Assert.Equal("ImageNameCompleter", CompleterOf(name));
            BindsNamesByValueOnly(name, "ImageNameAttribute");
        }

        var inputObject = cmdlets["Remove-VmImage"].Parameter("InputObject");
        Assert.Equal("VmPs.Core.Images.ImageInfo[]", inputObject.PropertyType.FullName);
        Assert.All(ParameterAttributes(inputObject), parameter => Assert.True(Flag(parameter, "ValueFromPipeline")));
    }

    [Fact]
    public void Cmdlets_taking_vms_bind_vm_objects_and_names_by_value_with_completion()
    {
        foreach (var cmdlet in metadata.Cmdlets().Where(cmdlet => CmdletsTakingVms.Contains(cmdlet.Name)))
        {
            var inputObject = cmdlet.Parameter("InputObject");
            Assert.Equal("VmPs.Core.Vms.VmInfo[]", inputObject.PropertyType.FullName);
            Assert.All(ParameterAttributes(inputObject), parameter => Assert.True(Flag(parameter, "ValueFromPipeline"), cmdlet.Name));

            var name = cmdlet.Parameter("Name");
            BindsNamesByValueOnly(name, "VmNameAttribute");
            Assert.Contains("VmName", Aliases(name));
            Assert.Equal("VmNameCompleter", CompleterOf(name));

            var nameSets = ParameterAttributes(name).Select(SetName).ToHashSet();
            Assert.DoesNotContain(ParameterAttributes(inputObject).Select(SetName), nameSets.Contains);
        }
    }

    [Fact]
    public void Get_Vm_takes_wildcard_names_and_New_Vm_completes_images()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        var getVmName = cmdlets["Get-Vm"].Parameter("Name");
        Assert.Contains(getVmName.GetCustomAttributesData(), attribute => attribute.AttributeType.Name == "SupportsWildcardsAttribute");
        Assert.Equal("VmNameCompleter", CompleterOf(getVmName));
        Assert.Equal("ImageNameCompleter", CompleterOf(cmdlets["New-Vm"].Parameter("Image")));
        Assert.Contains("CpuCount", Aliases(cmdlets["New-Vm"].Parameter("Cpus")));
    }

    [Fact]
    public void Invoke_VmCommand_takes_piped_vms_or_piped_stdin_and_never_a_delay_bind_script_block_for_names()
    {
        var invoke = metadata.Cmdlets().Single(cmdlet => cmdlet.Name == "Invoke-VmCommand");
        Assert.All(ParameterAttributes(invoke.Parameter("Vm")), parameter => Assert.True(Flag(parameter, "ValueFromPipeline")));
        Assert.Equal(
            ["NameCommand", "NameScript", "NameScriptBlock"],
            ParameterAttributes(invoke.Parameter("InputObject")).Where(parameter => Flag(parameter, "ValueFromPipeline")).Select(SetName).Order());

        var name = invoke.Parameter("Name");
        Assert.All(ParameterAttributes(name), parameter => Assert.False(Flag(parameter, "ValueFromPipeline") || Flag(parameter, "ValueFromPipelineByPropertyName")));
        Assert.Equal("VmNameCompleter", CompleterOf(name));
    }

    [Fact]
    public void Invoke_VmCommand_binds_an_argv_or_a_script_block_in_the_same_position()
    {
        var invoke = metadata.Cmdlets().Single(cmdlet => cmdlet.Name == "Invoke-VmCommand");
        var commandPositions = ParameterAttributes(invoke.Parameter("Command")).ToDictionary(SetName, Position);
        var scriptPositions = ParameterAttributes(invoke.Parameter("ScriptBlock")).ToDictionary(SetName, Position);

        Assert.Equal(new Dictionary<string, int> { ["NameCommand"] = 1, ["VmCommand"] = 0 }, commandPositions);
        Assert.Equal(new Dictionary<string, int> { ["NameScriptBlock"] = 1, ["VmScriptBlock"] = 0 }, scriptPositions);
    }

    [Fact]
    public void Of_what_the_module_ships_in_bin_the_cmdlets_reference_only_the_engine()
    {
        // A library the cmdlets referenced would be resolved in pwsh's default context, where another module's
        // version of it may be loaded; the engine's own references resolve in the module's private context.
        var shipped = Directory.GetFiles(ModuleLayout.BinDirectory, "*.dll").Select(Path.GetFileNameWithoutExtension);
        var referenced = metadata.Assembly.GetReferencedAssemblies().Select(reference => reference.Name);

        Assert.Equal(["VmPs.Core", "VmPs.Protocol"], referenced.Intersect(shipped).Order());
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlet_classes_and_names_files_that_exist()
    {
        var manifest = File.ReadAllText(ModuleLayout.ManifestPath);

        Assert.Equal(metadata.Cmdlets().Select(cmdlet => cmdlet.Name).Order(), ManifestList(manifest, "CmdletsToExport").Order());
        Assert.Equal("VmPs.PowerShell.dll", ManifestValue(manifest, "RootModule"));
        Assert.Equal(["VmPs.Loader.dll"], ManifestList(manifest, "NestedModules"));
        Assert.Equal(["VmPs.Types.ps1xml"], ManifestList(manifest, "TypesToProcess"));
        Assert.Equal(["VmPs.Format.ps1xml"], ManifestList(manifest, "FormatsToProcess"));
        Assert.Equal(
            metadata.Assembly.GetName().Version!.ToString(3),
            ManifestValue(manifest, "ModuleVersion"));
    }

    [Fact]
    public void Network_cmdlets_take_wildcard_network_names_with_completion_and_port_mappings_take_vms()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        foreach (var name in new[] { "Get-VmNetwork", "Remove-VmNetwork", "Repair-VmNetwork" }.Select(cmdlet => cmdlets[cmdlet].Parameter("Name")))
        {
            Assert.Contains(name.GetCustomAttributesData(), attribute => attribute.AttributeType.Name == "SupportsWildcardsAttribute");
            Assert.Equal("NetworkNameCompleter", CompleterOf(name));
            BindsNamesByValueOnly(name, "NetworkNameAttribute");
        }

        Assert.Equal("VmPs.Core.Network.NetworkInfo[]", cmdlets["Remove-VmNetwork"].Parameter("InputObject").PropertyType.FullName);
        Assert.Equal("VmPs.Core.Network.NetworkInfo[]", cmdlets["Repair-VmNetwork"].Parameter("InputObject").PropertyType.FullName);
        Assert.Equal(ConfirmImpactHigh, cmdlets["Remove-VmNetwork"].Named<int>("ConfirmImpact"));
        Assert.Equal(ConfirmImpactMedium, cmdlets["Repair-VmNetwork"].Named<int>("ConfirmImpact"));
        foreach (var cmdlet in new[] { "Add-VmPortMapping", "Get-VmPortMapping", "Remove-VmPortMapping" }.Select(name => cmdlets[name]))
        {
            Assert.StartsWith("VmPs.Core.Vms.VmInfo", cmdlet.Parameter("InputObject").PropertyType.FullName);
            Assert.Equal("VmNameCompleter", CompleterOf(cmdlet.Parameter("VmName")));
            BindsNamesByValueOnly(cmdlet.Parameter("VmName"), "VmNameAttribute");
        }
    }

    [Fact]
    public void User_cmdlets_take_user_names_by_value_with_completion_and_Owner_completes_users()
    {
        var cmdlets = metadata.Cmdlets().ToDictionary(cmdlet => cmdlet.Name);
        foreach (var name in new[] { "Get-VmUser", "Set-VmUser", "Remove-VmUser" }.Select(cmdlet => cmdlets[cmdlet].Parameter("Name")))
        {
            Assert.Equal("UserNameCompleter", CompleterOf(name));
            BindsNamesByValueOnly(name, "UserNameAttribute");
        }

        foreach (var cmdlet in new[] { "Set-VmQuota", "New-VmUserToken" })
        {
            BindsNamesByValueOnly(cmdlets[cmdlet].Parameter("User"), "UserNameAttribute");
        }

        foreach (var cmdlet in new[] { "Add-VmUserKey", "Remove-VmUserKey", "Set-VmQuota", "New-VmUserToken", "Grant-VmAccess", "Revoke-VmAccess" })
        {
            Assert.Equal("UserNameCompleter", CompleterOf(cmdlets[cmdlet].Parameter("User")));
        }

        foreach (var cmdlet in new[] { "Grant-VmAccess", "Revoke-VmAccess" })
        {
            Assert.Equal("VmNameCompleter", CompleterOf(cmdlets[cmdlet].Parameter("VmName")));
            BindsNamesByValueOnly(cmdlets[cmdlet].Parameter("VmName"), "VmNameAttribute");
        }

        Assert.All(new[] { "New-Vm", "New-VmVolume", "New-VmImage" }, cmdlet => Assert.Equal("UserNameCompleter", CompleterOf(cmdlets[cmdlet].Parameter("Owner"))));
        Assert.Equal("VmPs.Core.Access.VmUser[]", cmdlets["Remove-VmUser"].Parameter("InputObject").PropertyType.FullName);
        Assert.Equal("VmPs.Core.Access.VmUserKey[]", cmdlets["Remove-VmUserKey"].Parameter("InputObject").PropertyType.FullName);
        Assert.Equal(ConfirmImpactHigh, cmdlets["Remove-VmUser"].Named<int>("ConfirmImpact"));
    }

    /// <summary>
    /// Names come from the pipeline by value, through the transformation that refuses other concepts' objects; never by
    /// property name, which would take any object's Name (issue 11: binding never crosses types).
    /// </summary>
    private static void BindsNamesByValueOnly(PropertyInfo name, string transformation)
    {
        Assert.All(ParameterAttributes(name), parameter =>
        {
            Assert.True(Flag(parameter, "ValueFromPipeline"), name.DeclaringType!.Name);
            Assert.False(Flag(parameter, "ValueFromPipelineByPropertyName"), name.DeclaringType!.Name);
        });
        Assert.Contains(name.GetCustomAttributesData(), attribute => attribute.AttributeType.Name == transformation);
    }

    private static IEnumerable<CustomAttributeData> ParameterAttributes(PropertyInfo parameter) =>
        parameter.GetCustomAttributesData().Where(CmdletMetadata.IsNamed("ParameterAttribute"));

    private static bool Flag(CustomAttributeData parameter, string name) =>
        parameter.NamedArguments.Any(named => named.MemberName == name && (bool)named.TypedValue.Value!);

    private static string SetName(CustomAttributeData parameter) =>
        parameter.NamedArguments.Where(named => named.MemberName == "ParameterSetName").Select(named => (string)named.TypedValue.Value!).SingleOrDefault() ?? "__AllParameterSets";

    private static int Position(CustomAttributeData parameter) =>
        parameter.NamedArguments.Where(named => named.MemberName == "Position").Select(named => (int)named.TypedValue.Value!).Single();

    private static IEnumerable<string> Aliases(PropertyInfo parameter) =>
        parameter.GetCustomAttributesData().Where(CmdletMetadata.IsNamed("AliasAttribute"))
            .SelectMany(alias => (IEnumerable<CustomAttributeTypedArgument>)alias.ConstructorArguments[0].Value!)
            .Select(argument => (string)argument.Value!);

    private static string? CompleterOf(PropertyInfo parameter) =>
        parameter.GetCustomAttributesData().Where(CmdletMetadata.IsNamed("ArgumentCompleterAttribute"))
            .Select(completer => ((Type)completer.ConstructorArguments[0].Value!).Name)
            .SingleOrDefault();

    /// <summary>A single-quoted value of a top-level key of the manifest: Key = 'value'.</summary>
    private static string ManifestValue(string manifest, string key) =>
        Regex.Match(manifest, $@"^\s*{key}\s*=\s*'([^']*)'", RegexOptions.Multiline) is { Success: true } match
            ? match.Groups[1].Value
            : throw new Xunit.Sdk.XunitException($"The manifest has no {key}.");

    /// <summary>The quoted items of a list key of the manifest: Key = @( 'a' 'b' ) or @('a', 'b').</summary>
    private static IReadOnlyList<string> ManifestList(string manifest, string key)
    {
        var list = Regex.Match(manifest, $@"^\s*{key}\s*=\s*@\(([^)]*)\)", RegexOptions.Multiline);
        Assert.True(list.Success, $"The manifest has no {key} list.");
        return Regex.Matches(list.Groups[1].Value, "'([^']*)'").Select(item => item.Groups[1].Value).ToList();
    }
}
