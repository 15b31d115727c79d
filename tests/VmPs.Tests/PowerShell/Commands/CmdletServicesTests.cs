using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.Tests.PowerShell.Commands;

/// <summary>The cmdlets' own logic, run in a real runspace against fake managers.</summary>
public sealed class CmdletServicesTests : IDisposable
{
    private readonly FakeServices services = new();

    public void Dispose() => services.Dispose();

    [Fact]
    public void Get_Vm_expands_a_wildcard_over_the_managers_vms_in_name_order()
    {
        services.FakeVms.Add("web2");
        services.FakeVms.Add("db");
        services.FakeVms.Add("Web1");

        var (output, errors) = services.Run("Get-Vm -Name web*");

        Assert.Empty(errors);
        Assert.Equal(["Web1", "web2"], output.Select(vm => ((VmInfo)vm.BaseObject).Name));
        Assert.All(output, vm => Assert.Equal("VmPs.Vm", vm.TypeNames[0]));
    }

    [Fact]
    public void Get_Vm_of_an_unknown_literal_name_is_a_non_terminating_error_and_the_others_still_come()
    {
        services.FakeVms.Add("db");

        var (output, errors) = services.Run("Get-Vm -Name nosuch, db");

        Assert.Equal("db", ((VmInfo)Assert.Single(output).BaseObject).Name);
        var error = Assert.Single(errors);
        Assert.Equal("VmNotFound,VmPs.PowerShell.Commands.GetVmCommand", error.FullyQualifiedErrorId);
        Assert.Equal("nosuch", error.TargetObject);
    }

    [Fact]
    public void Start_Vm_reports_a_failing_vm_and_starts_the_others()
    {
        services.FakeVms.Add("a", VmState.Running);
        services.FakeVms.Add("b");

        var (output, errors) = services.Run("Start-Vm -Name a, b -PassThru");

        Assert.Equal(["b"], services.FakeVms.Started);
        Assert.Equal(VmState.Running, ((VmInfo)Assert.Single(output).BaseObject).State);
        Assert.Equal("VmAlreadyRunning,VmPs.PowerShell.Commands.StartVmCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Remove_VmImage_WhatIf_removes_nothing_and_Confirm_false_removes_the_matches()
    {
        services.FakeImages.Images.AddRange(["alpine", "alpine-dev", "debian"]);

        services.Run("Remove-VmImage -Name alpine* -WhatIf");
        Assert.Empty(services.FakeImages.Removed);

        var (_, errors) = services.Run("Remove-VmImage -Name alpine* -Confirm:$false");
        Assert.Empty(errors);
        Assert.Equal(["alpine", "alpine-dev"], services.FakeImages.Removed);
    }

    [Fact]
    public void An_installation_keeps_one_composition_root_and_another_installation_gets_its_own()
    {
        var home = new VmPsSettings("/nonexistent/vmps-a", null, null);
        var other = home with { StateDirectory = "/nonexistent/vmps-b" };
        var otherNamespace = home with { NetworkNamespace = "vmps-test-ns" };

        Assert.Same(ModuleServices.ForSettings(home), ModuleServices.ForSettings(home with { }));
        Assert.NotSame(ModuleServices.ForSettings(home), ModuleServices.ForSettings(other));
        Assert.NotSame(ModuleServices.ForSettings(home), ModuleServices.ForSettings(otherNamespace));
        Assert.Equal("/nonexistent/vmps-b", ModuleServices.ForSettings(other).Paths.Root);
    }
}
