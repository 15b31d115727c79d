using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Shares;
using VmPs.Core.Specs;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Tests.Core.Specs;

public sealed class VmSpecYamlTests
{
    private const string Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs55EeuyPSGqiGsDwMxZ3+VQ51sAAvNh50sies9uPlA alice@laptop";

    private static readonly VmCreateOptions Web = new()
    {
        Name = "web",
        Image = "alpine",
        Cpus = 2,
        MemoryMiB = 1024,
        DiskSizeGiB = 8,
        Hypervisor = HypervisorKind.Qemu,
        InitMode = ImageInitMode.Systemd,
        Network = new VmNetworkOptions
        {
            Network = "lab",
            IPAddress = "10.131.0.7",
            MaxBandwidthMbps = 100,
            PublishedPorts =
            [
                new PortMappingOptions { HostPort = 8080, VmPort = 80 },
                new PortMappingOptions { HostPort = 5353, VmPort = 53, Protocol = PortProtocol.Udp, HostAddress = "127.0.0.1" },
            ],
        },
        Volumes = [new VolumeAttachOptions("data", "/srv/data", ReadOnly: true), new VolumeAttachOptions("logs", "/var/log/app")],
        DiskFormat = DiskImageFormat.Qcow2,
        Shares = [new ShareOptions("/srv/site:v2", "/var/www", ReadOnly: true), new ShareOptions("/srv/uploads", "/var/uploads", ReadOnly: false)],
    };

    [Fact]
    public void A_written_spec_reads_back_as_the_same_definition()
    {
        var yaml = VmSpecYaml.Write([Web, Web with { Name = "db", Network = null, Volumes = [], Hypervisor = null, InitMode = null }]);

        var specs = VmSpecYaml.Read(yaml, "web.yaml");

        Assert.Equal(2, specs.Count);
        AssertSame(Web, specs[0]);
        Assert.Equal("db", specs[1].Name);
        Assert.Null(specs[1].Network);
        Assert.Null(specs[1].Hypervisor);
        Assert.Empty(specs[1].Volumes);
    }

    [Fact]
    public void The_yaml_uses_the_documented_keys_and_quotes_ports()
    {
        var yaml = VmSpecYaml.Write([Web]);

        Assert.Contains("memoryMiB: 1024", yaml, StringComparison.Ordinal);
        Assert.Contains("ipAddress: 10.131.0.7", yaml, StringComparison.Ordinal);
        Assert.Contains("\"127.0.0.1:5353:53/udp\"", yaml, StringComparison.Ordinal);
        Assert.Contains("\"data:/srv/data:ro\"", yaml, StringComparison.Ordinal);
        Assert.Contains("diskFormat: Qcow2", yaml, StringComparison.Ordinal);
        Assert.Contains("\"/srv/site:v2:/var/www:ro\"", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("kernel", yaml, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Omitted_keys_take_New_Vms_defaults_and_keys_match_case_insensitively()
    {
        var spec = Assert.Single(VmSpecYaml.Read("Name: tiny\nIMAGE: busybox\n", "tiny.yaml"));

        Assert.Equal(("tiny", "busybox", 1, 512, 4, DiskImageFormat.Raw), (spec.Name, spec.Image, spec.Cpus, spec.MemoryMiB, spec.DiskSizeGiB, spec.DiskFormat));
        Assert.Empty(spec.Shares);
        Assert.Null(spec.Network);
        Assert.Null(spec.Hypervisor);
        Assert.Empty(spec.Volumes);
    }

    [Fact]
    public void An_iso_install_is_written_with_its_iso_and_firmware_instead_of_an_image()
    {
        var install = new VmCreateOptions { Name = "inst", Image = "", IsoPath = "/srv/isos/debian.iso", Firmware = ImageFirmware.Bios, DiskSizeGiB = 20 };

        var yaml = VmSpecYaml.Write([install]);
        var spec = Assert.Single(VmSpecYaml.Read(yaml, "inst.yaml"));

        Assert.DoesNotContain("image:", yaml, StringComparison.Ordinal);
        Assert.Equal(("", "/srv/isos/debian.iso", ImageFirmware.Bios, 20), (spec.Image, spec.IsoPath, spec.Firmware, spec.DiskSizeGiB));
        Assert.Equal(ImageFirmware.Uefi, Assert.Single(VmSpecYaml.Read("name: inst\nisoPath: /srv/isos/debian.iso\n", "inst.yaml")).Firmware);
    }

    [Fact]
    public void An_unknown_key_names_the_file_the_line_and_the_key()
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read("name: web\nimage: busybox\nnetwork:\n  name: lab\n  port: 8080\n", "specs/web.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecUnknownKey, error.ErrorId);
        Assert.Equal("specs/web.yaml", error.Target);
        Assert.StartsWith("specs/web.yaml, line 5, key 'port': unknown key in network", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_names_the_file_and_the_line()
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read("name: web\nimage: [busybox\ncpus: 2\n", "web.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecInvalidYaml, error.ErrorId);
        Assert.Matches("^web\\.yaml, line [2-4]: not valid YAML", error.Message);
    }

    [Fact]
    public void A_duplicate_key_is_invalid_yaml()
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read("name: web\nimage: busybox\ncpus: 1\ncpus: 2\n", "web.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecInvalidYaml, error.ErrorId);
        Assert.StartsWith("web.yaml, line 4:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name: web\nimage: busybox\ncpus: two\n", 3, "cpus", "'two' is not a whole number")]
    [InlineData("name: web\nimage: busybox\ncpus: -1\n", 3, "cpus", "is not a whole number")]
    [InlineData("name: web\nimage: busybox\nhypervisor: 1\n", 3, "hypervisor", "is not one of CloudHypervisor, Qemu")]
    [InlineData("name: web\nimage: busybox\nvolumes: data:/srv\n", 3, "volumes", "expected a list")]
    [InlineData("name: web\nimage: busybox\nnetwork:\n  ports:\n    - 8080\n", 5, "network.ports[0]", "is not a published port")]
    [InlineData("name: web\nimage: busybox\nvolumes:\n  - data:/proc/x\n", 4, "volumes[0]", "shadow")]
    [InlineData("image: busybox\n", 1, "name", "this key is required")]
    [InlineData("- web\n", 1, "the VM spec", "expected a mapping")]
    public void A_value_of_the_wrong_kind_names_its_line_and_key(string yaml, int line, string key, string problem)
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read(yaml, "web.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecInvalidValue, error.ErrorId);
        Assert.StartsWith($"web.yaml, line {line}, key '{key}': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_input_is_refused_before_parsing()
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read(new string('#', VmSpecYaml.MaxFileBytes + 1), "big.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecTooLarge, error.ErrorId);
    }

    [Fact]
    public void A_list_longer_than_the_bound_is_refused()
    {
        var ports = string.Concat(Enumerable.Range(1, VmSpecYaml.MaxListItems + 1).Select(port => $"    - \"{port}:80\"\n"));

        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read($"name: web\nimage: busybox\nnetwork:\n  ports:\n{ports}", "web.yaml"));

        Assert.Equal(VmPsErrorIds.VmSpecInvalidValue, error.ErrorId);
        Assert.Contains("key 'network.ports'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("#cloud-config\nruncmd:\n  - [touch, /run/x]\n")]
    [InlineData("#!/bin/sh\necho 'no newline at the end'")]
    [InlineData("#!/bin/sh\n\techo tab\n  \n\n\n")]
    [InlineData("  indented first line\ntrailing space \n")]
    [InlineData("#!/bin/sh\r\necho crlf: \"quoted\" # not a comment\r\n")]
    [InlineData("#!/bin/sh\necho \u0001\u00e9\u2028\ufeff\u0085 end\n")]
    [InlineData("#cloud-config\nwrite_files: [{path: /x, content: \"---\\n...\"}]\n---\n...\n")]
    public void User_data_keys_and_metadata_options_round_trip_exactly(string userData)
    {
        var spec = Web with { UserData = userData, SshPublicKeys = [Key, Key.Replace("alice@laptop", "bob", StringComparison.Ordinal)], MetadataHttpTokens = MetadataHttpTokens.Required };

        var read = Assert.Single(VmSpecYaml.Read(VmSpecYaml.Write([spec]), "web.yaml"));

        Assert.Equal(userData, read.UserData);
        Assert.Equal(spec.SshPublicKeys, read.SshPublicKeys);
        Assert.Equal(MetadataHttpTokens.Required, read.MetadataHttpTokens);
    }

    [Fact]
    public void User_data_is_a_literal_block_and_metadata_options_are_always_written()
    {
        var yaml = VmSpecYaml.Write([Web with { UserData = "#cloud-config\nhostname: web\n", SshPublicKeys = [Key] }]);

        Assert.Contains("metadataOptions:\n  httpTokens: Optional\n", yaml, StringComparison.Ordinal);
        Assert.Contains("userData: |\n  #cloud-config\n  hostname: web\n", yaml, StringComparison.Ordinal);
        Assert.Contains($"sshPublicKeys:\n- \"{Key}\"\n", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("userData", VmSpecYaml.Write([Web]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("metadataOptions:\n  httpTokens: sometimes\n", 4, "metadataOptions.httpTokens", "is not one of Optional, Required")]
    [InlineData("metadataOptions:\n  httpPutResponseHopLimit: 2\n", 4, "httpPutResponseHopLimit", "unknown key in metadataOptions")]
    [InlineData("sshPublicKeys:\n  - not-a-key\n", 4, "sshPublicKeys[0]", "key type")]
    [InlineData("userData: [a]\n", 3, "userData", "expected a non-empty text value")]
    public void Bad_metadata_options_keys_or_user_data_name_their_line_and_key(string rest, int line, string key, string problem)
    {
        var error = Assert.Throws<VmPsException>(() => VmSpecYaml.Read("name: web\nimage: busybox\n" + rest, "web.yaml"));

        Assert.StartsWith($"web.yaml, line {line}, key '{key}': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_options_match_case_insensitively_and_default_to_optional()
    {
        var spec = Assert.Single(VmSpecYaml.Read("name: web\nimage: busybox\nMetadataOptions:\n  HttpTokens: required\n", "web.yaml"));

        Assert.Equal(MetadataHttpTokens.Required, spec.MetadataHttpTokens);
        Assert.Equal(MetadataHttpTokens.Optional, Assert.Single(VmSpecYaml.Read("name: web\nimage: busybox\n", "web.yaml")).MetadataHttpTokens);
    }

    private static void AssertSame(VmCreateOptions expected, VmCreateOptions actual)
    {
        Assert.Equal(
            (expected.Name, expected.Image, expected.Cpus, expected.MemoryMiB, expected.DiskSizeGiB, expected.DiskFormat, expected.Hypervisor, expected.InitMode),
            (actual.Name, actual.Image, actual.Cpus, actual.MemoryMiB, actual.DiskSizeGiB, actual.DiskFormat, actual.Hypervisor, actual.InitMode));
        Assert.Equal(expected.Shares, actual.Shares);
        Assert.Equal(
            (expected.Network!.Network, expected.Network.IPAddress, expected.Network.MaxBandwidthMbps),
            (actual.Network!.Network, actual.Network.IPAddress, actual.Network.MaxBandwidthMbps));
        Assert.Equal(expected.Network!.PublishedPorts, actual.Network!.PublishedPorts);
        Assert.Equal(expected.Volumes, actual.Volumes);
    }
}
