using VmPs.Core;
using VmPs.Core.Shares;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core;

public sealed class DisplayListTests
{
    [Fact]
    public void Lists_with_the_same_items_are_equal_and_print_their_items()
    {
        var first = DisplayList.Of<string>(["a", "b"]);
        var second = DisplayList.Of<string>(["a", "b"]);

        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.NotEqual(first, DisplayList.Of<string>(["b", "a"]));
        Assert.Equal("a, b", first.ToString());
    }

    /// <summary>The regression: VmInfo compared by value failed on its Shares, read into a new list each time.</summary>
    [Fact]
    public void Output_records_read_twice_are_equal()
    {
        var vm = new VmInfo
        {
            Id = Guid.NewGuid(), Name = "web", State = VmState.Stopped, Image = "busybox", Cpus = 1, MemoryMiB = 256, Hypervisor = VmPs.Core.Hypervisors.HypervisorKind.Qemu,
            KernelPath = "/boot/vmlinuz", VsockCid = 3, MacAddress = "02:76:6d:00:00:01", Directory = "/var/lib/vmps/vms/x", CreatedAt = DateTimeOffset.UnixEpoch,
            Shares = [new ShareOptions("/srv", "/data", ReadOnly: true)],
        };

        Assert.Equal(vm, vm with { Shares = [new ShareOptions("/srv", "/data", ReadOnly: true)] });
        Assert.NotEqual(vm, vm with { Shares = [] });
    }
}
