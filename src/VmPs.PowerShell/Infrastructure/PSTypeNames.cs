namespace VmPs.PowerShell.Infrastructure;

/// <summary>The module's type names for its output objects, usable in [PSTypeName(...)] parameter constraints.</summary>
public static class PSTypeNames
{
    public const string Vm = "VmPs.Vm";

    public const string VmCommandResult = "VmPs.VmCommandResult";

    public const string VmHost = "VmPs.VmHost";

    public const string VmImage = "VmPs.VmImage";

    public const string VmNetworkAdapter = "VmPs.VmNetworkAdapter";

    public const string VmNetwork = "VmPs.VmNetwork";

    public const string VmPortMapping = "VmPs.VmPortMapping";
}
