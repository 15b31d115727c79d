using VmPs.Core.Logs;

namespace VmPs.Tests.Core.Logs;

public sealed class TerminalTextTests
{
    [Theory]
    [InlineData("plain text, ünïcode and\ttabs", "plain text, ünïcode and\ttabs")]
    [InlineData("\u001b[31mred\u001b[0m", "red")]
    [InlineData("\u001b]0;title\u0007after", "after")]
    [InlineData("\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\", "link")]
    [InlineData("unterminated \u001b]0;title to the end", "unterminated ")]
    [InlineData("cut \u001b[", "cut ")]
    [InlineData("trailing escape \u001b", "trailing escape ")]
    [InlineData("bell\u0007 backspace\u0008 cr\r del\u007f c1\u0085\u009b", "bell backspace cr del c1")]
    public void RemovesEverythingThatDrivesATerminal(string line, string expected)
    {
        Assert.Equal(expected, TerminalText.Sanitize(line));
    }

    [Fact]
    public void RandomLinesKeepNoControlCharacterButTheTab()
    {
        var random = new Random(10);
        for (var i = 0; i < 10_000; i++)
        {
            var line = new string([.. Enumerable.Range(0, random.Next(0, 40)).Select(_ => (char)random.Next(0, 0xA0))]);
            var clean = TerminalText.Sanitize(line);
            Assert.DoesNotContain(clean, c => c != '\t' && (c < ' ' || c is >= '\u007f' and <= '\u009f'));
        }
    }
}
