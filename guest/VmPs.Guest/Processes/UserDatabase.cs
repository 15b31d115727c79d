using System.Globalization;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Processes;

/// <summary>
/// Resolves "name", "uid", "name:group" or "uid:gid" against /etc/passwd and /etc/group of the root
/// filesystem. A static binary has no NSS, so the files are parsed here.
/// </summary>
internal static class UserDatabase
{
    public static UserIdentity Resolve(string? spec, string etcDirectory = "/etc")
    {
        if (string.IsNullOrEmpty(spec))
        {
            spec = "0";
        }

        var (userPart, groupPart) = spec.IndexOf(':') is var colon and >= 0 ? (spec[..colon], spec[(colon + 1)..]) : (spec, null);
        var users = ReadEntries(Path.Combine(etcDirectory, "passwd"));
        var groups = ReadEntries(Path.Combine(etcDirectory, "group"));

        var userEntry = users.FirstOrDefault(entry => entry[0] == userPart)
            ?? (TryParseId(userPart, out var numericUid) ? users.FirstOrDefault(entry => entry.Length > 2 && entry[2] == userPart) ?? NumericOnly(numericUid) : null)
            ?? throw new GuestException(ErrorCodes.UserNotFound, $"User '{userPart}' is not in {etcDirectory}/passwd.");

        var uid = ParseId(userEntry, 2, "passwd");
        var gid = groupPart is null ? ParseId(userEntry, 3, "passwd") : ResolveGroup(groupPart, groups, etcDirectory);
        var supplementary = groups
            .Where(entry => entry.Length > 3 && entry[3].Split(',').Contains(userEntry[0]) && TryParseId(entry[2], out _))
            .Select(entry => uint.Parse(entry[2], CultureInfo.InvariantCulture));
        var home = userEntry.Length > 5 && userEntry[5].Length > 0 ? userEntry[5] : "/";
        return new UserIdentity(uid, gid, supplementary.Prepend(gid).Distinct().ToArray(), home);
    }

    private static uint ResolveGroup(string groupPart, IReadOnlyList<string[]> groups, string etcDirectory)
    {
        var entry = groups.FirstOrDefault(group => group[0] == groupPart);
        if (entry is not null)
        {
            return ParseId(entry, 2, "group");
        }

        return TryParseId(groupPart, out var gid)
            ? gid
            : throw new GuestException(ErrorCodes.UserNotFound, $"Group '{groupPart}' is not in {etcDirectory}/group.");
    }

    private static string[] NumericOnly(uint uid) => [uid.ToString(CultureInfo.InvariantCulture), "x", uid.ToString(CultureInfo.InvariantCulture), "0", "", "/"];

    private static IReadOnlyList<string[]> ReadEntries(string path) =>
        File.Exists(path)
            ? File.ReadLines(path).Where(line => line.Length > 0 && line[0] != '#').Select(line => line.Split(':')).ToArray()
            : [];

    private static uint ParseId(string[] entry, int field, string file) =>
        entry.Length > field && TryParseId(entry[field], out var id)
            ? id
            : throw new GuestException(ErrorCodes.UserNotFound, $"The /etc/{file} entry for '{entry[0]}' has no numeric id in field {field + 1}.");

    private static bool TryParseId(string text, out uint id) => uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
}
