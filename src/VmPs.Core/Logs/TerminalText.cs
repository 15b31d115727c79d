using System.Text;

namespace VmPs.Core.Logs;

/// <summary>
/// Guest text made safe to print on the user's terminal: a guest writes what it likes to its consoles, and escape
/// sequences in a log line could move the cursor, retitle the window, rewrite earlier output or answer for the user
/// (device status queries). Removes ESC sequences (CSI, OSC, DCS and the other string controls, two-byte escapes),
/// every other C0 control but the tab, DEL and the C1 controls; printable text, tabs and non-ASCII letters stay.
/// </summary>
public static class TerminalText
{
    private const char Escape = '\u001b';
    private const char Bell = '\u0007';

    public static string Sanitize(string line)
    {
        var index = FirstUnsafe(line);
        if (index < 0)
        {
            return line;
        }

        var clean = new StringBuilder(line.Length);
        clean.Append(line, 0, index);
        while (index < line.Length)
        {
            var c = line[index];
            if (c == Escape)
            {
                index = SkipEscape(line, index + 1);
                continue;
            }

            if (!IsUnsafe(c))
            {
                clean.Append(c);
            }

            index++;
        }

        return clean.ToString();
    }

    private static int FirstUnsafe(string line)
    {
        for (var i = 0; i < line.Length; i++)
        {
            if (IsUnsafe(line[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsUnsafe(char c) => c != '\t' && (c < ' ' || c is >= '\u007f' and <= '\u009f');

    /// <summary>The index after the escape sequence whose introducer (the byte after ESC) is at <paramref name="index"/>.</summary>
    private static int SkipEscape(string line, int index)
    {
        if (index >= line.Length)
        {
            return index;
        }

        switch (line[index])
        {
            case '[':
                // CSI: parameter and intermediate bytes (0x20-0x3F), then one final byte (0x40-0x7E).
                index++;
                while (index < line.Length && line[index] is >= ' ' and <= '?')
                {
                    index++;
                }

                return Math.Min(index + 1, line.Length);
            case ']' or 'P' or 'X' or '^' or '_':
                // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \), or by the end of the line.
                for (index++; index < line.Length; index++)
                {
                    if (line[index] == Bell)
                    {
                        return index + 1;
                    }

                    if (line[index] == Escape && index + 1 < line.Length && line[index + 1] == '\\')
                    {
                        return index + 2;
                    }
                }

                return index;
            default:
                // Two-byte escapes (ESC c, ESC 7, ...) and charset selections (ESC ( B): intermediates, then a final byte.
                while (index < line.Length && line[index] is >= ' ' and <= '/')
                {
                    index++;
                }

                return Math.Min(index + 1, line.Length);
        }
    }
}
