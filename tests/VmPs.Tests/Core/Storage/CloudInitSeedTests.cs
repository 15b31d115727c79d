using System.Text.Json;
using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Metadata;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

/// <summary>
/// The NoCloud seed: an ISO 9660 volume labelled cidata as blkid sees it, with meta-data, network-config v2 and a
/// user-data MIME multipart that Python's email parser (cloud-init's) splits into the user's part and VmPs's.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CloudInitSeedTests : IDisposable
{
    private const string Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs55EeuyPSGqiGsDwMxZ3+VQ51sAAvNh50sies9uPlA alice@laptop";
    private const string OtherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAWZaehE3bSEbFqX5PcM++tXXZasYCyU18P94RqhTrje";
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("xorriso", "blkid", "python3")]
    public async Task The_seed_is_a_cidata_iso_holding_the_three_files_cloud_init_reads()
    {
        var seed = scratch.Combine("seed.iso");
        var vmId = Guid.NewGuid();
        var network = new GuestNetworkConfig
        {
            MacAddress = "02:76:6D:00:00:2A", Address = "10.100.0.42", PrefixLength = 16, Gateway = "10.100.0.1", Dns = ["10.100.0.1", "1.1.1.1"], Mtu = 1400,
        };
        var userData = CloudInitUserData.Compose("#!/bin/sh\necho hi > /run/hi\n", [Key, OtherKey], "web");

        var metadata = new InstanceMetadata { InstanceId = "i-0123456789abcdef0", Hostname = "web", UserData = "#!/bin/sh\necho hi > /run/hi\n" };
        await CloudInitSeed.WriteAsync(
            seed,
            CloudInitSeed.MetaData(vmId, "web"),
            CloudInitSeed.NetworkConfig(network),
            userData,
            (staging, token) => DiskImageAgent.StageAsync(staging, new AgentChannelConfig(), metadata, token),
            CancellationToken.None);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(seed));
        Assert.Equal(["seed.iso"], Directory.GetFileSystemEntries(scratch.Path).Select(Path.GetFileName));
        var blkid = await ExternalTool.RunCheckedAsync("blkid", ["-o", "export", seed], CancellationToken.None);
        Assert.Contains("LABEL=cidata", blkid.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("TYPE=iso9660", blkid.StandardOutput, StringComparison.Ordinal);
        var extracted = Directory.CreateDirectory(scratch.Combine("out")).FullName;
        await ExternalTool.RunCheckedAsync("xorriso", ["-osirrox", "on", "-indev", seed, "-extract", "/", extracted], CancellationToken.None);

        var meta = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(extracted, "meta-data"))).RootElement;
        Assert.Equal("vmps-" + vmId.ToString("N"), meta.GetProperty("instance-id").GetString());
        Assert.Equal("web", meta.GetProperty("local-hostname").GetString());
        var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(extracted, "network-config"))).RootElement;
        Assert.Equal(2, config.GetProperty("version").GetInt32());
        var eth0 = config.GetProperty("ethernets").GetProperty("eth0");
        Assert.Equal("02:76:6d:00:00:2a", eth0.GetProperty("match").GetProperty("macaddress").GetString());
        Assert.Equal("10.100.0.42/16", eth0.GetProperty("addresses")[0].GetString());
        Assert.Equal("10.100.0.1", eth0.GetProperty("gateway4").GetString());
        Assert.Equal(["10.100.0.1", "1.1.1.1"], eth0.GetProperty("nameservers").GetProperty("addresses").EnumerateArray().Select(server => server.GetString()));
        Assert.Equal(1400, eth0.GetProperty("mtu").GetInt32());
        Assert.Equal(userData, await File.ReadAllTextAsync(Path.Combine(extracted, "user-data")));

        // The agent cloud-init starts: the host's binary, executable on the seed, its unit run from the seed's mount
        // with the metadata beside it.
        var agent = Path.Combine(extracted, DiskImageAgent.SeedDirectory, "vmps-guest");
        Assert.Equal(await File.ReadAllBytesAsync(GuestBinary.Locate()), await File.ReadAllBytesAsync(agent));
        Assert.True(File.GetUnixFileMode(agent).HasFlag(UnixFileMode.UserExecute));
        var unit = await File.ReadAllTextAsync(Path.Combine(extracted, DiskImageAgent.SeedDirectory, "vmps-agent.service"));
        Assert.Contains(
            "ExecStart=/run/vmps/seed/vmps/vmps-guest agent --virtio-port org.vmps.agent --metadata /run/vmps/seed/vmps/metadata.json\n",
            unit,
            StringComparison.Ordinal);
        var served = JsonSerializer.Deserialize(
            await File.ReadAllBytesAsync(Path.Combine(extracted, DiskImageAgent.SeedDirectory, "metadata.json")), ProtocolJsonContext.Default.InstanceMetadata);
        Assert.Equal((metadata.InstanceId, metadata.Hostname, metadata.UserData), (served!.InstanceId, served.Hostname, served.UserData));

        // cloud-init splits user data with Python's email module: two parts, the user's script first, then VmPs's keys.
        var parts = await ExternalTool.RunCheckedAsync(
            "python3",
            ["-c", "import email,json,sys; m=email.message_from_file(open(sys.argv[1])); print(json.dumps([[p.get_content_type(), p.get('Merge-Type'), p.get_payload()] for p in m.get_payload()]))", Path.Combine(extracted, "user-data")],
            CancellationToken.None);
        var split = JsonDocument.Parse(parts.StandardOutput).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, split.Count);
        Assert.Equal("text/x-shellscript", split[0][0].GetString());
        Assert.Equal("#!/bin/sh\necho hi > /run/hi\n", split[0][2].GetString());
        Assert.Equal("text/cloud-config", split[1][0].GetString());
        Assert.Equal("list(append)+dict(recurse_array)+str()", split[1][1].GetString());
        var own = split[1][2].GetString()!;
        Assert.StartsWith("#cloud-config\n", own, StringComparison.Ordinal);
        Assert.Contains(Key, own, StringComparison.Ordinal);
        var cloudConfig = JsonDocument.Parse(own["#cloud-config\n".Length..]).RootElement;
        Assert.Equal([Key, OtherKey], cloudConfig.GetProperty("ssh_authorized_keys").EnumerateArray().Select(key => key.GetString()));
        var bootCommand = Assert.Single(cloudConfig.GetProperty("bootcmd").EnumerateArray());
        Assert.Equal(["sh", "-c", DiskImageAgent.BootCommand], bootCommand.EnumerateArray().Select(word => word.GetString()));
    }

    [Fact]
    public void A_vm_without_a_network_gets_no_ethernet_and_no_user_data_is_only_vmpss_part()
    {
        var config = JsonDocument.Parse(CloudInitSeed.NetworkConfig(null)).RootElement;
        var userData = CloudInitUserData.Compose(null, [], "web");

        Assert.Equal(2, config.GetProperty("version").GetInt32());
        Assert.Empty(config.GetProperty("ethernets").EnumerateObject());
        Assert.Equal(1, userData.Split("Content-Disposition", StringSplitOptions.None).Length - 1);
        Assert.Contains("text/cloud-config", userData, StringComparison.Ordinal);
    }

    [Fact]
    public void User_data_over_16_KiB_or_of_no_known_kind_and_bad_keys_are_refused()
    {
        var exactly = "#cloud-config\n" + new string('#', CloudInitUserData.MaxBytes - "#cloud-config\n".Length);
        CloudInitUserData.Compose(exactly, [], "web");

        var large = Assert.Throws<VmPsException>(() => CloudInitUserData.Compose(exactly + "#", [], "web"));
        Assert.Equal(VmPsErrorIds.UserDataTooLarge, large.ErrorId);
        Assert.Equal(VmPsErrorKind.LimitsExceeded, large.Kind);
        Assert.Contains("16385 bytes", large.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<VmPsException>(() => CloudInitUserData.Compose("hostname: x\n", [], "web"));
        Assert.Equal(VmPsErrorIds.UserDataInvalid, unknown.ErrorId);
        Assert.Equal("web", unknown.Target);
        var badKey = Assert.Throws<VmPsException>(() => CloudInitUserData.Compose(null, ["command=\"rm -rf /\" " + Key], "web"));
        Assert.Equal(VmPsErrorIds.InvalidSshPublicKey, badKey.ErrorId);
    }
}
