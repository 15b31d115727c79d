using System.Text;

namespace VmPs.Protocol.Systemd;

/// <summary>
/// systemd's unit name for a path, as <c>systemd-escape --path --suffix=mount</c> makes it: the slashes around
/// the path dropped, the others turned into '-', and every byte of the UTF-8 path that is not a letter, digit,
/// ':', '_' or '.' (and a leading '.') written as \xNN. systemd loads a mount unit only under the name of its
/// Where=, so the name must be exactly systemd's.
/// </summary>
public static class SystemdUnitName
{
    /// <summary>The longest unit name systemd accepts (UNIT_NAME_MAX less its terminating NUL).</summary>
    public const int MaxLength = 255;

    /// <summary>The escaped path followed by <paramref name="suffix"/> (".mount"). The path must be absolute and normalised.</summary>
    public static string FromPath(string path, string suffix)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path != "/" && !(path.StartsWith('/') && path[1..].Split('/').All(component => component is not ("" or "." or ".."))))
        {
            throw new ArgumentException($"'{path}' is not an absolute normalised path.", nameof(path));
        }

        return (path == "/" ? "-" : Escape(Encoding.UTF8.GetBytes(path[1..]))) + suffix;
    }

    private static string Escape(byte[] bytes)
    {
        var name = new StringBuilder(bytes.Length);
        for (var index = 0; index < bytes.Length; index++)
        {
            var value = bytes[index];
            if (value == '/')
            {
                name.Append('-');
            }
            else if (IsKept(value) && !(index == 0 && value == '.'))
            {
                name.Append((char)value);
            }
            else
            {
                name.Append(@"\x").Append(value.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return name.ToString();
    }

    private static bool IsKept(byte value) => char.IsAsciiLetterOrDigit((char)value) || value is (byte)':' or (byte)'_' or (byte)'.';
}
