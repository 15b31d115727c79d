using VmPs.Core;
using VmPs.PowerShell.Errors;

namespace VmPs.Tests.PowerShell;

public sealed class ErrorCategoryMapTests
{
    [Fact]
    public void Every_error_kind_maps_to_a_PowerShell_error_category()
    {
        using var metadata = new CmdletMetadata();
        var categories = metadata.ErrorCategoryNames();

        Assert.All(Enum.GetValues<VmPsErrorKind>(), kind => Assert.Contains(ErrorCategoryMap.CategoryName(kind), categories));
    }

    [Fact]
    public void Distinct_error_kinds_stay_distinct_categories()
    {
        var kinds = Enum.GetValues<VmPsErrorKind>();
        Assert.Equal(kinds.Length, kinds.Select(ErrorCategoryMap.CategoryName).Distinct().Count());
    }

    [Fact]
    public void An_unknown_error_kind_is_a_bug_not_a_silent_default()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorCategoryMap.CategoryName((VmPsErrorKind)999));
    }
}
