using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using VmPs.Core.Vms;

namespace VmPs.Tests.PowerShell;

public sealed class FormatAndTypesFileTests
{
    private static readonly Assembly CoreAssembly = typeof(VmInfo).Assembly;

    private static readonly Assembly ProtocolAssembly = typeof(VmPs.Protocol.Logs.InitLogRecord).Assembly;

    private static readonly XDocument Format = XDocument.Load(ModuleLayout.FormatFilePath);

    private static readonly XDocument Types = XDocument.Load(ModuleLayout.TypesFilePath);

    [Fact]
    public void Every_type_a_cmdlet_outputs_has_a_default_view()
    {
        using var metadata = new CmdletMetadata();
        // Strings (Invoke-VmCommand -Stream, Get-VmLog), jobs (-AsJob) and host files (Copy-VmFile -FromVm) keep the views PowerShell has for them.
        string[] formattedByPowerShell = ["System.String", "System.Management.Automation.Job", "System.IO.FileSystemInfo"];
        var outputTypes = metadata.Cmdlets().SelectMany(cmdlet => cmdlet.OutputTypeNames()).Except(formattedByPowerShell).ToHashSet();
        var viewedTypes = Format.Descendants("ViewSelectedBy").Elements("TypeName").Select(name => name.Value).ToHashSet();

        Assert.NotEmpty(outputTypes);
        Assert.Subset(viewedTypes, outputTypes);
    }

    [Fact]
    public void Views_show_properties_their_types_have()
    {
        foreach (var view in Format.Descendants("View"))
        {
            var type = CoreType(view.Element("ViewSelectedBy")!.Element("TypeName")!.Value);
            Assert.All(view.Descendants("PropertyName"), property => Assert.NotNull(type.GetProperty(property.Value)));
        }
    }

    [Fact]
    public void Every_table_has_as_many_columns_as_headers()
    {
        foreach (var table in Format.Descendants("TableControl"))
        {
            var headers = table.Element("TableHeaders")!.Elements("TableColumnHeader").Count();
            Assert.All(table.Descendants("TableColumnItems"), items => Assert.Equal(headers, items.Elements("TableColumnItem").Count()));
        }
    }

    [Fact]
    public void Type_extensions_refer_to_members_that_exist()
    {
        foreach (var extended in Types.Root!.Elements("Type"))
        {
            var type = CoreType(extended.Element("Name")!.Value);
            var members = extended.Element("Members")!;
            Assert.All(members.Elements("AliasProperty"), alias => Assert.NotNull(type.GetProperty(alias.Element("ReferencedMemberName")!.Value)));
            var scriptReferences = members.Descendants("GetScriptBlock").SelectMany(script => Regex.Matches(script.Value, @"\$this\.(\w+)")).Select(match => match.Groups[1].Value);
            Assert.All(scriptReferences, member => Assert.NotNull(type.GetProperty(member)));
        }
    }

    private static Type CoreType(string fullName) =>
        CoreAssembly.GetType(fullName) ?? ProtocolAssembly.GetType(fullName) ?? throw new Xunit.Sdk.XunitException($"{fullName} is not a VmPs.Core or VmPs.Protocol type.");
}
