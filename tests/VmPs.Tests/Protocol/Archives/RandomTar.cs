using System.Formats.Tar;
using System.Text;
using CsCheck;

namespace VmPs.Tests.Protocol.Archives;

/// <summary>
/// CsCheck generators of hostile tar streams, shared by the property tests of the untrusted-archive reader and of both
/// confined writers (layers, guest trees): random names built of "..", ".", "" and a few words, random link graphs
/// (relative, absolute and chained targets such as <c>a -> .</c>, <c>b -> a/a/../../outside</c>), random modes with
/// set-id and sticky bits, hard links, devices, whiteouts; and the same streams with bytes overwritten and cut short.
/// </summary>
public static class RandomTar
{
    private static readonly string[] Components = ["a", "b", "c", "..", ".", "", "outside", "etc"];

    public static Gen<TarEntryFormat> Formats { get; } = Gen.OneOf(Gen.Const(TarEntryFormat.Pax), Gen.Const(TarEntryFormat.Gnu), Gen.Const(TarEntryFormat.Ustar));

    // A tar entry needs a name: one made only of empty components becomes ".".
    public static Gen<string> Name { get; } = Gen.OneOf(Components).Array[1, 4].Select(parts => string.Join('/', parts)).Select(name => name.Trim('/').Length == 0 ? "." : name);

    public static Gen<string> LinkTarget { get; } = Gen.OneOf(
        Name,
        Name.Select(path => "/" + path),
        Gen.OneOf(".", "..", "/", "../../outside", "a/a/../../outside", "a/a/../../etc", "b/../../outside/keep"));

    // Targets among the tree's own names, "." and "..": whether a chain of them stays inside is for the kernel to say.
    private static Gen<string> ShortTarget { get; } = Gen.OneOf("a", "b", "c", ".", "..").Array[1, 3].Select(parts => string.Join('/', parts));

    private static Gen<UnixFileMode> Mode { get; } = Gen.Int[0, 4095].Select(mode => (UnixFileMode)mode);

    private static Gen<int> Owner { get; } = Gen.OneOf(Gen.Const(0), Gen.Int[1, 65534]);

    public static Gen<PaxTarEntry> Entry { get; } = Gen.Int[0, 7].SelectMany(kind => kind switch
    {
        0 => Gen.Select(Name, Mode, Owner, (path, mode, owner) => new PaxTarEntry(TarEntryType.Directory, path) { Mode = mode, Uid = owner, Gid = owner }),
        1 => Gen.Select(Name, Mode, Owner, (path, mode, owner) => new PaxTarEntry(TarEntryType.RegularFile, path)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes("pwned")),
            Mode = mode,
            Uid = owner,
            Gid = owner,
        }),
        2 => Gen.Select(Name, LinkTarget, (path, target) => new PaxTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target }),
        3 => Gen.Select(Name, LinkTarget, (path, target) => new PaxTarEntry(TarEntryType.HardLink, path) { LinkName = target }),
        4 => Name.Select(path => new PaxTarEntry(TarEntryType.CharacterDevice, path) { DeviceMajor = 1, DeviceMinor = 3, Mode = (UnixFileMode)0x1B6 }),
        5 => Name.Select(path => new PaxTarEntry(TarEntryType.BlockDevice, path) { DeviceMajor = 8, DeviceMinor = 0, Mode = (UnixFileMode)0x1B6 }),
        6 => Name.Select(path => new PaxTarEntry(TarEntryType.Fifo, path) { Mode = (UnixFileMode)0x1B6 }),
        _ => Name.Select(path => new PaxTarEntry(TarEntryType.RegularFile, WhiteoutOf(path)) { DataStream = new MemoryStream() }),
    });

    /// <summary>
    /// Trees a well-behaved writer could send: only directories, files and links, all below "a", with names that never
    /// climb; what they exercise is the link graph (targets relative, absolute, chained), which the writer must judge.
    /// </summary>
    public static Gen<byte[]> LinkGraph { get; } = Gen.Select(
            Gen.Int[0, 2].SelectMany(kind => Gen.OneOf("a", "b", "c", ".").Array[0, 3].Select(parts => string.Join('/', ["a", .. parts])).SelectMany(path => kind switch
            {
                0 => Mode.Select(mode => new PaxTarEntry(TarEntryType.Directory, path) { Mode = mode | UnixFileMode.UserExecute | UnixFileMode.UserWrite }),
                1 => Mode.Select(mode => new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("data")), Mode = mode }),
                _ => Gen.Frequency((4, ShortTarget), (1, LinkTarget)).Select(target => new PaxTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target }),
            })).Array[1, 16],
            Formats,
            (entries, format) => Write([new PaxTarEntry(TarEntryType.Directory, "a") { Mode = (UnixFileMode)0x1ED }, .. entries], format))
        .Where(bytes => bytes is not null)
        .Select(bytes => bytes!);

    /// <summary>Archives of 1 to 12 random entries in a random format (entries System.Formats.Tar will not write are left out).</summary>
    public static Gen<byte[]> Archive { get; } = Gen.Select(Entry.Array[1, 12], Formats, Write).Where(bytes => bytes is not null).Select(bytes => bytes!);

    /// <summary>Random archives with bytes overwritten at random places (headers included), half of them cut at a random point.</summary>
    public static Gen<byte[]> Mutated { get; } = Gen.Select(Archive, Gen.Int.Array[0, 8], Gen.Byte.Array[8], Gen.Int[0, 100], Mutate);

    /// <summary>The archive System.Formats.Tar writes for the entries, or null for entries it refuses to write.</summary>
    public static byte[]? Write(PaxTarEntry[] entries, TarEntryFormat format)
    {
        try
        {
            var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, format, leaveOpen: true))
            {
                foreach (var entry in entries)
                {
                    entry.DataStream?.Seek(0, SeekOrigin.Begin);
                    writer.WriteEntry(entry);
                }
            }

            return tar.ToArray();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static string WhiteoutOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? ".wh." + path : $"{path[..(slash + 1)]}.wh.{path[(slash + 1)..]}";
    }

    private static byte[] Mutate(byte[] archive, int[] positions, byte[] values, int keepPercent)
    {
        var copy = archive.ToArray();
        for (var i = 0; i < positions.Length; i++)
        {
            copy[(int)((uint)positions[i] % copy.Length)] = values[i];
        }

        return keepPercent >= 50 ? copy : copy[..(copy.Length * keepPercent / 50)];
    }
}
