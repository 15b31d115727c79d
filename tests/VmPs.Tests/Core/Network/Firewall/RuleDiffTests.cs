using VmPs.Core.Network.Firewall;

namespace VmPs.Tests.Core.Network.Firewall;

public sealed class RuleDiffTests
{
    [Fact]
    public void KeepsTheLongestRunInWantedOrder()
    {
        Assert.Equal(new Dictionary<int, int> { [0] = 0, [2] = 2 }, RuleDiff.Kept(["a", "b", "c"], ["a", "x", "c"]));
        Assert.Equal(new Dictionary<int, int> { [0] = 1, [1] = 2 }, RuleDiff.Kept(["b", "c"], ["a", "b", "c", "d"]));
        Assert.Single(RuleDiff.Kept(["b", "a"], ["a", "b"]));
    }

    [Fact]
    public void KeepsNothingFromAnEmptyOrUnrelatedChainAndEverythingFromAnEqualOne()
    {
        Assert.Empty(RuleDiff.Kept([], ["a"]));
        Assert.Empty(RuleDiff.Kept(["a", "b"], []));
        Assert.Empty(RuleDiff.Kept(["x"], ["a"]));
        Assert.Equal(new Dictionary<int, int> { [0] = 0, [1] = 1 }, RuleDiff.Kept(["a", "b"], ["a", "b"]));
    }

    [Fact]
    public void ADuplicatedPresentRuleIsKeptOnce()
    {
        var kept = RuleDiff.Kept(["a", "a", "b"], ["a", "b"]);

        Assert.Equal(2, kept.Count);
        Assert.Equal([0, 1], kept.Values.Order());
    }
}
