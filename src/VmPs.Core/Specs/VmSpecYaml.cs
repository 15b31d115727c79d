using System.Globalization;
using VmPs.Core.Access;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace VmPs.Core.Specs;

/// <summary>
/// VM specs as YAML (Export-/Import-VmSpec): one VM per document, several documents per file. A spec is the
/// <see cref="VmCreateOptions"/> New-Vm takes, without the kernel (a host path, not part of a portable definition).
/// Reading is strict: an unknown key, a value of the wrong kind or a YAML syntax error is an error naming the
/// file, the line and the key.
/// </summary>
public static class VmSpecYaml
{
    /// <summary>A spec is a few hundred bytes; the bound keeps a stray large file from being parsed at all.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    public const int MaxListItems = 256;

    private const string NameKey = "name";
    private const string ImageKey = "image";
    private const string CpusKey = "cpus";
    private const string MemoryKey = "memoryMiB";
    private const string DiskKey = "diskSizeGiB";
    private const string DiskFormatKey = "diskFormat";
    private const string HypervisorKey = "hypervisor";
    private const string MachineTypeKey = "machineType";
    private const string InitModeKey = "initMode";
    private const string NetworkKey = "network";
    private const string VolumesKey = "volumes";
    private const string SharesKey = "shares";
    private const string NetworkNameKey = "name";
    private const string IPAddressKey = "ipAddress";
    private const string BandwidthKey = "maxBandwidthMbps";
    private const string PortsKey = "ports";
    private const string MetadataOptionsKey = "metadataOptions";
    private const string HttpTokensKey = "httpTokens";
    private const string UserDataKey = "userData";
    private const string SshPublicKeysKey = "sshPublicKeys";
    private const string IsoPathKey = "isoPath";
    private const string FirmwareKey = "firmware";

    private static readonly string[] VmKeys =
        [NameKey, ImageKey, CpusKey, MemoryKey, DiskKey, DiskFormatKey, HypervisorKey, MachineTypeKey, InitModeKey, NetworkKey, VolumesKey, SharesKey, MetadataOptionsKey, UserDataKey, SshPublicKeysKey, IsoPathKey, FirmwareKey];

    private static readonly string[] NetworkKeys = [NetworkNameKey, IPAddressKey, BandwidthKey, PortsKey];
    private static readonly string[] MetadataOptionsKeys = [HttpTokensKey];

    /// <summary>The specs in a file; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<VmCreateOptions> Read(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxFileBytes)
        {
            throw new VmPsException(
                VmPsErrorIds.VmSpecTooLarge,
                VmPsErrorKind.LimitsExceeded,
                string.Create(CultureInfo.InvariantCulture, $"{source}: a VM spec file is at most {MaxFileBytes} bytes."),
                source);
        }

        var stream = new YamlStream();
        var parser = new LineTrackingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException exception)
        {
            throw InvalidYaml(source, exception.Start.Line, exception.Message, exception);
        }
        catch (InvalidOperationException exception)
        {
            // YamlDotNet's scanner fails this way on some unterminated flow collections ("[a" then a new line).
            throw InvalidYaml(source, parser.LastLine, "a flow collection ([...] or {...}) or a quoted text is not closed.", exception);
        }

        var reader = new Reader(source);
        return stream.Documents.Select(document => reader.Vm(document.RootNode)).ToList();
    }

    private static VmPsException InvalidYaml(string source, long line, string problem, Exception inner) => new(
        VmPsErrorIds.VmSpecInvalidYaml,
        VmPsErrorKind.InvalidData,
        string.Create(CultureInfo.InvariantCulture, $"{source}, line {line}: not valid YAML: {problem}"),
        source,
        inner);

    /// <summary>The specs as YAML, one document each.</summary>
    public static string Write(IEnumerable<VmCreateOptions> specs)
    {
        var stream = new YamlStream(specs.Select(spec => new YamlDocument(Node(spec))));
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static YamlMappingNode Node(VmCreateOptions spec)
    {
        var node = new YamlMappingNode { { NameKey, spec.Name } };
        if (spec.IsoPath is { } iso)
        {
            node.Add(IsoPathKey, iso);
            node.Add(FirmwareKey, (spec.Firmware ?? ImageFirmware.Uefi).ToString());
        }
        else
        {
            node.Add(ImageKey, spec.Image);
        }

        node.Add(CpusKey, Number(spec.Cpus));
        node.Add(MemoryKey, Number(spec.MemoryMiB));
        node.Add(DiskKey, Number(spec.DiskSizeGiB));
        node.Add(DiskFormatKey, spec.DiskFormat.ToString());
        if (spec.Hypervisor is { } hypervisor)
        {
            node.Add(HypervisorKey, hypervisor.ToString());
        }

        if (spec.MachineType is { } machine)
        {
            node.Add(MachineTypeKey, machine.ToString());
        }

        if (spec.InitMode is { } initMode)
        {
            node.Add(InitModeKey, initMode.ToString());
        }

        if (spec.Network is { } network)
        {
            var networkNode = new YamlMappingNode { { NetworkNameKey, network.Network } };
            if (network.IPAddress is { } address)
            {
                networkNode.Add(IPAddressKey, address);
            }

            if (network.MaxBandwidthMbps is { } bandwidth)
            {
                networkNode.Add(BandwidthKey, Number(bandwidth));
            }

            if (network.PublishedPorts.Count > 0)
            {
                networkNode.Add(PortsKey, Quoted(network.PublishedPorts.Select(PublishedPortParser.Format)));
            }

            node.Add(NetworkKey, networkNode);
        }

        if (spec.Volumes.Count > 0)
        {
            node.Add(VolumesKey, Quoted(spec.Volumes.Select(VolumeValidation.FormatAttachment)));
        }

        if (spec.Shares.Count > 0)
        {
            node.Add(SharesKey, Quoted(spec.Shares.Select(ShareValidation.Format)));
        }

        node.Add(MetadataOptionsKey, new YamlMappingNode { { HttpTokensKey, spec.MetadataHttpTokens.ToString() } });
        if (!string.IsNullOrEmpty(spec.UserData))
        {
            // A block scalar reads every line break (YAML's: CR, NEL, LS, PS too) back as \n; a text with another one is written escaped.
            var style = spec.UserData.IndexOfAny(['\r', '\u0085', '\u2028', '\u2029']) < 0 ? ScalarStyle.Literal : ScalarStyle.DoubleQuoted;
            node.Add(UserDataKey, new YamlScalarNode(spec.UserData) { Style = style });
        }

        if (spec.SshPublicKeys.Count > 0)
        {
            node.Add(SshPublicKeysKey, Quoted(spec.SshPublicKeys));
        }

        return node;
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Quoted, so that no YAML reader takes "8080:80" for a number (YAML 1.1's base 60).</summary>
    private static YamlSequenceNode Quoted(IEnumerable<string> values) =>
        new(values.Select(value => new YamlScalarNode(value) { Style = ScalarStyle.DoubleQuoted }));

    /// <summary>Remembers where the last event that parsed ended, for errors the parser raises without a position.</summary>
    private sealed class LineTrackingParser(IParser inner) : IParser
    {
        public long LastLine { get; private set; } = 1;

        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (inner.Current is { } current)
            {
                LastLine = current.End.Line;
            }

            return moved;
        }
    }

    /// <summary>Walks one document; every error names the file, the node's line and the key.</summary>
    private sealed class Reader(string source)
    {
        public VmCreateOptions Vm(YamlNode root)
        {
            var mapping = Mapping(root, "the VM spec");
            var spec = new VmCreateOptions { Name = "", Image = "" };
            string? name = null;
            string? image = null;
            string? iso = null;
            foreach (var (key, value) in Entries(mapping, VmKeys, "a VM spec"))
            {
                spec = key switch
                {
                    NameKey => spec with { Name = name = Text(value, key) },
                    ImageKey => spec with { Image = image = Text(value, key) },
                    CpusKey => spec with { Cpus = Integer(value, key) },
                    MemoryKey => spec with { MemoryMiB = Integer(value, key) },
                    DiskKey => spec with { DiskSizeGiB = Integer(value, key) },
                    DiskFormatKey => spec with { DiskFormat = Enumerated<DiskImageFormat>(value, key) },
                    HypervisorKey => spec with { Hypervisor = Enumerated<HypervisorKind>(value, key) },
                    MachineTypeKey => spec with { MachineType = Enumerated<QemuMachine>(value, key) },
                    InitModeKey => spec with { InitMode = Enumerated<ImageInitMode>(value, key) },
                    NetworkKey => spec with { Network = Network(value) },
                    VolumesKey => spec with { Volumes = List(value, key, VolumeValidation.ParseAttachment) },
                    SharesKey => spec with { Shares = List(value, key, ShareValidation.Parse) },
                    MetadataOptionsKey => spec with { MetadataHttpTokens = HttpTokens(value) },
                    UserDataKey => spec with { UserData = Text(value, key) },
                    IsoPathKey => spec with { IsoPath = iso = Text(value, key) },
                    FirmwareKey => spec with { Firmware = Enumerated<ImageFirmware>(value, key) },
                    _ => spec with { SshPublicKeys = List(value, key, key => SshPublicKey.Parse(key).AuthorizedKeysLine) },
                };
            }

            Require(name, NameKey, root);
            // An ISO install (isoPath) has no image, New-Vm refuses a spec that gives both, and its firmware defaults as New-Vm's does.
            if (iso is null)
            {
                Require(image, ImageKey, root);
            }
            else
            {
                spec = spec with { Firmware = spec.Firmware ?? ImageFirmware.Uefi };
            }

            return spec;
        }

        private VmNetworkOptions Network(YamlNode node)
        {
            var network = new VmNetworkOptions();
            foreach (var (key, value) in Entries(Mapping(node, NetworkKey), NetworkKeys, "network"))
            {
                var path = $"{NetworkKey}.{key}";
                network = key switch
                {
                    NetworkNameKey => network with { Network = Text(value, path) },
                    IPAddressKey => network with { IPAddress = Text(value, path) },
                    BandwidthKey => network with { MaxBandwidthMbps = Integer(value, path) },
                    _ => network with { PublishedPorts = List(value, path, PublishedPortParser.Parse) },
                };
            }

            return network;
        }

        private MetadataHttpTokens HttpTokens(YamlNode node)
        {
            var tokens = MetadataHttpTokens.Optional;
            foreach (var (key, value) in Entries(Mapping(node, MetadataOptionsKey), MetadataOptionsKeys, MetadataOptionsKey))
            {
                tokens = Enumerated<MetadataHttpTokens>(value, $"{MetadataOptionsKey}.{key}");
            }

            return tokens;
        }

        /// <summary>The mapping's entries with their keys spelled as the schema does (keys match case-insensitively).</summary>
        private IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode mapping, string[] known, string what)
        {
            foreach (var (keyNode, value) in mapping.Children)
            {
                var text = (keyNode as YamlScalarNode)?.Value;
                var key = known.FirstOrDefault(candidate => string.Equals(candidate, text, StringComparison.OrdinalIgnoreCase));
                if (key is null)
                {
                    throw Error(
                        VmPsErrorIds.VmSpecUnknownKey,
                        keyNode,
                        text ?? keyNode.ToString(),
                        $"unknown key in {what}; the keys are {string.Join(", ", known)}.");
                }

                yield return (key, value);
            }
        }

        private YamlMappingNode Mapping(YamlNode node, string key) =>
            node as YamlMappingNode ?? throw Invalid(node, key, "expected a mapping of keys to values.");

        private string Text(YamlNode node, string key) =>
            node is YamlScalarNode { Value: { Length: > 0 } value } ? value : throw Invalid(node, key, "expected a non-empty text value.");

        private int Integer(YamlNode node, string key) =>
            int.TryParse(Text(node, key), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Invalid(node, key, $"'{Text(node, key)}' is not a whole number.");

        private T Enumerated<T>(YamlNode node, string key)
            where T : struct, Enum
        {
            var text = Text(node, key);
            return Enum.GetNames<T>().FirstOrDefault(name => string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) is { } name
                ? Enum.Parse<T>(name)
                : throw Invalid(node, key, $"'{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}.");
        }

        private IReadOnlyList<T> List<T>(YamlNode node, string key, Func<string, T> parse)
        {
            var sequence = node as YamlSequenceNode ?? throw Invalid(node, key, "expected a list.");
            if (sequence.Children.Count > MaxListItems)
            {
                throw Invalid(node, key, string.Create(CultureInfo.InvariantCulture, $"at most {MaxListItems} items."));
            }

            return sequence.Children.Select(
                (item, index) =>
                {
                    var itemKey = string.Create(CultureInfo.InvariantCulture, $"{key}[{index}]");
                    try
                    {
                        return parse(Text(item, itemKey));
                    }
                    catch (VmPsException exception) when (exception.ErrorId != VmPsErrorIds.VmSpecInvalidValue)
                    {
                        throw Invalid(item, itemKey, exception.Message);
                    }
                }).ToList();
        }

        private void Require(string? value, string key, YamlNode root)
        {
            if (value is null)
            {
                throw Invalid(root, key, "this key is required.");
            }
        }

        private VmPsException Invalid(YamlNode node, string key, string problem) => Error(VmPsErrorIds.VmSpecInvalidValue, node, key, problem);

        private VmPsException Error(string errorId, YamlNode node, string key, string problem) => new(
            errorId,
            VmPsErrorKind.InvalidData,
            string.Create(CultureInfo.InvariantCulture, $"{source}, line {node.Start.Line}, key '{key}': {problem}"),
            source);
    }
}
