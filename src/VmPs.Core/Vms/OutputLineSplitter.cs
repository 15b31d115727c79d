using System.Text;
using VmPs.Core.Agent;

namespace VmPs.Core.Vms;

/// <summary>One line of a guest command's output, without its line ending.</summary>
public readonly record struct VmOutputLine(AgentOutputStream Stream, string Text);

/// <summary>
/// Turns an exec's output chunks into lines, per stream: a chunk may end inside a line or inside a UTF-8
/// character, so each stream keeps its own decoder and unfinished line until the next chunk or <see cref="Flush"/>.
/// A line longer than <see cref="MaxLineChars"/> comes in pieces of that length, so an endless line cannot fill memory.
/// </summary>
public sealed class OutputLineSplitter
{
    /// <summary>The longest line kept whole: 1 Mi characters.</summary>
    public const int MaxLineChars = 1024 * 1024;

    private readonly StreamLines stdout = new(AgentOutputStream.Stdout);
    private readonly StreamLines stderr = new(AgentOutputStream.Stderr);

    /// <summary>The lines this chunk completes, in order.</summary>
    public IReadOnlyList<VmOutputLine> Add(AgentOutputChunk chunk) =>
        (chunk.Stream == AgentOutputStream.Stdout ? stdout : stderr).Add(chunk.Data.Span);

    /// <summary>The unfinished last line of each stream (stdout first), once the output has ended.</summary>
    public IReadOnlyList<VmOutputLine> Flush() => [.. stdout.Flush(), .. stderr.Flush()];

    private sealed class StreamLines(AgentOutputStream stream)
    {
        private readonly Decoder decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();
        private readonly StringBuilder pending = new();

        public IReadOnlyList<VmOutputLine> Add(ReadOnlySpan<byte> data)
        {
            var characters = new char[decoder.GetCharCount(data, flush: false)];
            decoder.GetChars(data, characters, flush: false);
            var lines = new List<VmOutputLine>();
            var start = 0;
            while (start < characters.Length)
            {
                var newline = Array.IndexOf(characters, '\n', start);
                var end = newline < 0 ? characters.Length : newline;
                var room = MaxLineChars - pending.Length;
                if (end - start > room)
                {
                    pending.Append(characters, start, room);
                    lines.Add(TakeLine());
                    start += room;
                    continue;
                }

                pending.Append(characters, start, end - start);
                if (newline < 0)
                {
                    break;
                }

                lines.Add(TakeLine());
                start = newline + 1;
            }

            return lines;
        }

        public IEnumerable<VmOutputLine> Flush()
        {
            var characters = new char[decoder.GetCharCount([], flush: true)];
            decoder.GetChars([], characters, flush: true);
            pending.Append(characters);
            return pending.Length == 0 ? [] : [TakeLine()];
        }

        private VmOutputLine TakeLine()
        {
            // CRLF output (from a TTY or a Windows-minded program) still yields clean lines.
            if (pending.Length > 0 && pending[^1] == '\r')
            {
                pending.Length--;
            }

            var line = new VmOutputLine(stream, pending.ToString());
            pending.Clear();
            return line;
        }
    }
}
