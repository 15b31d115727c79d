using System.Text;
using VmPs.Core.Agent;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Vms;

public sealed class OutputLineSplitterTests
{
    [Fact]
    public void A_line_split_across_chunks_comes_out_once_it_is_complete()
    {
        var splitter = new OutputLineSplitter();

        Assert.Empty(splitter.Add(Stdout("hel")));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stdout, "hello")], splitter.Add(Stdout("lo\nwor")));
        Assert.Empty(splitter.Add(Stdout("ld")));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stdout, "world")], splitter.Flush());
    }

    [Fact]
    public void Streams_keep_their_own_unfinished_lines()
    {
        var splitter = new OutputLineSplitter();

        Assert.Empty(splitter.Add(Stdout("out")));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stderr, "err")], splitter.Add(Stderr("err\npartial")));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stdout, "out done")], splitter.Add(Stdout(" done\n")));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stderr, "partial")], splitter.Flush());
    }

    [Fact]
    public void An_endless_line_comes_in_pieces_of_the_longest_line_kept_whole()
    {
        var splitter = new OutputLineSplitter();
        var chunk = Stdout(new string('x', 300_000));
        var pieces = new List<VmOutputLine>();

        for (var i = 0; i < 10; i++)
        {
            pieces.AddRange(splitter.Add(chunk));
        }

        pieces.AddRange(splitter.Add(Stdout("\n")));
        Assert.Equal([OutputLineSplitter.MaxLineChars, OutputLineSplitter.MaxLineChars, 3_000_000 - (2 * OutputLineSplitter.MaxLineChars)], pieces.Select(piece => piece.Text.Length));
        Assert.Empty(splitter.Flush());
    }

    [Fact]
    public void A_line_exactly_as_long_as_the_limit_is_one_line()
    {
        var splitter = new OutputLineSplitter();

        var lines = splitter.Add(Stdout(new string('y', OutputLineSplitter.MaxLineChars) + "\nnext\n"));

        Assert.Equal([OutputLineSplitter.MaxLineChars, 4], lines.Select(line => line.Text.Length));
    }

    [Fact]
    public void A_character_split_between_chunks_is_decoded_whole()
    {
        var bytes = Encoding.UTF8.GetBytes("été\n");
        var splitter = new OutputLineSplitter();

        Assert.Empty(splitter.Add(new AgentOutputChunk(AgentOutputStream.Stdout, bytes.AsMemory(0, 1))));
        Assert.Equal([new VmOutputLine(AgentOutputStream.Stdout, "été")], splitter.Add(new AgentOutputChunk(AgentOutputStream.Stdout, bytes.AsMemory(1))));
    }

    [Fact]
    public void Crlf_line_endings_and_empty_lines_give_clean_lines()
    {
        var splitter = new OutputLineSplitter();

        Assert.Equal(["a", "", "b"], splitter.Add(Stdout("a\r\n\nb\r\n")).Select(line => line.Text));
        Assert.Empty(splitter.Flush());
    }

    private static AgentOutputChunk Stdout(string text) => new(AgentOutputStream.Stdout, Encoding.UTF8.GetBytes(text));

    private static AgentOutputChunk Stderr(string text) => new(AgentOutputStream.Stderr, Encoding.UTF8.GetBytes(text));
}
