using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>The module's type names for its output objects, usable in [PSTypeName(...)] parameter constraints.</summary>
public static class PSTypeNames
{
    public const string Vm = "VmPs.Vm";

    public const string VmCommandResult = "VmPs.VmCommandResult";

    public const string VmCheckpoint = "VmPs.VmCheckpoint";

    public const string VmMeasurement = "VmPs.VmMeasurement";

    public const string VmHost = "VmPs.VmHost";

    public const string VmImage = "VmPs.VmImage";

    public const string VmImageCacheItem = "VmPs.VmImageCacheItem";

    public const string VmKernel = "VmPs.VmKernel";

    public const string GuestFile = "VmPs.GuestFile";

    public const string InitLogRecord = "VmPs.InitLogRecord";

    public const string VmNetworkAdapter = "VmPs.VmNetworkAdapter";

    public const string VmNetwork = "VmPs.VmNetwork";

    public const string VmVolume = "VmPs.VmVolume";

    public const string VmPortMapping = "VmPs.VmPortMapping";

    public const string VmSpecResult = "VmPs.VmSpecResult";

    public const string VmUser = "VmPs.VmUser";

    public const string VmUserKey = "VmPs.VmUserKey";

    public const string VmUserToken = "VmPs.VmUserToken";

    public const string VmAccessGrant = "VmPs.VmAccessGrant";

    public const string VmIngress = "VmPs.VmIngress";

    public const string SshGateway = "VmPs.SshGateway";

    /// <summary>Wraps a result in a PSObject carrying one of these type names, which its format view selects.</summary>
    internal static PSObject Tag(object value, string psTypeName)
    {
        var wrapped = PSObject.AsPSObject(value);
        wrapped.TypeNames.Insert(0, psTypeName);
        return wrapped;
    }
}
