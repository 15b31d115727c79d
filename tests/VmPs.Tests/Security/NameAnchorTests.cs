using System.Reflection;
using System.Text.RegularExpressions;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Images.Registry;
using VmPs.Core.Network;
using VmPs.Core.Vms;

namespace VmPs.Tests.Security;

/// <summary>
/// In .NET regular expressions '$' also matches before a final newline, so "web\n" passed every name check that
/// ended its pattern with '$'. Each check refuses a trailing newline, and no pattern in the product ends with '$'.
/// </summary>
public sealed class NameAnchorTests
{
    private const string ValidMac = "02:76:6d:0a:0b:0c";

    public static TheoryData<string, string> Checks => new()
    {
        { "VM name", "InvalidVmName" },
        { "network name", "InvalidNetworkName" },
        { "uplink interface", "UplinkNotFound" },
        { "TAP name", "InvalidTapName" },
        { "MAC address", "InvalidMacAddress" },
        { "image name", "InvalidImageName" },
        { "image reference", "ImageReferenceInvalid" },
        { "kernel release", "KernelFormatUnsupported" },
    };

    [Theory]
    [MemberData(nameof(Checks))]
    public async Task TrailingNewlineIsRefused(string check, string errorId)
    {
        var valid = ValidValue(check);
        await Check(check, valid);

        var error = await Assert.ThrowsAsync<VmPsException>(() => Check(check, valid + "\n"));

        Assert.Equal(errorId, error.ErrorId);
    }

    [Fact]
    public void NoPatternAnchorsItsEndWithDollar()
    {
        var assemblies = new[] { typeof(VmManager).Assembly, typeof(VmPs.Protocol.Config.GuestConfig).Assembly };
        var patterns = assemblies
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: $"{method.DeclaringType!.FullName}.{method.Name}", Attribute: method.GetCustomAttribute<GeneratedRegexAttribute>()))
            .Where(found => found.Attribute is not null)
            .ToList();

        Assert.NotEmpty(patterns);
        var dollarAnchored = patterns.Where(found => EndsWithDollar(found.Attribute!.Pattern)).Select(found => found.Method).ToList();
        Assert.Empty(dollarAnchored);
    }

    private static string ValidValue(string check) => check switch
    {
        "VM name" => "web",
        "network name" => "lab",
        "uplink interface" => "eth0",
        "TAP name" => "vmps-t1",
        "MAC address" => ValidMac,
        "image name" => "app:1.0",
        "image reference" => "alpine:3.20",
        "kernel release" => "6.1.0-28-cloud-amd64",
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };

    private static async Task Check(string check, string value)
    {
        switch (check)
        {
            case "VM name":
                VmValidation.ValidateName(value);
                break;
            case "network name":
                NetworkValidation.Validate(new NetworkCreateOptions { Name = value, Subnet = "10.200.0.0/24" });
                break;
            case "uplink interface":
                NetworkValidation.Validate(new NetworkCreateOptions { Name = "lab", Subnet = "10.200.0.0/24", UplinkInterface = value });
                break;
            case "TAP name":
                NetworkInterfaceValidation.Validate(new NetworkInterfaceSpec(value, ValidMac, 1500));
                break;
            case "MAC address":
                NetworkInterfaceValidation.Validate(new NetworkInterfaceSpec("vmps-t1", value, 1500));
                break;
            case "image name":
                ImageNames.Validate(value);
                break;
            case "image reference":
                ImageReference.Parse(value);
                break;
            case "kernel release":
                await ReadReleaseOfBzImageAsync(value);
                break;
        }
    }

    /// <summary>A file with just the bzImage setup header, whose version string is <paramref name="release"/>.</summary>
    private static async Task ReadReleaseOfBzImageAsync(string release)
    {
        var path = Path.GetTempFileName();
        try
        {
            var image = new byte[0x1000];
            "HdrS"u8.CopyTo(image.AsSpan(0x202));
            BitConverter.TryWriteBytes(image.AsSpan(0x20E), (ushort)0x100);
            System.Text.Encoding.ASCII.GetBytes(release).CopyTo(image.AsSpan(0x300));
            await File.WriteAllBytesAsync(path, image);
            await KernelLocator.ReadVersionAsync(path, CancellationToken.None);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>An unescaped '$' at the end (an even number of backslashes before it).</summary>
    private static bool EndsWithDollar(string pattern)
    {
        if (!pattern.EndsWith('$'))
        {
            return false;
        }

        var backslashes = pattern.Length - 1 - pattern[..^1].TrimEnd('\\').Length;
        return backslashes % 2 == 0;
    }
}
