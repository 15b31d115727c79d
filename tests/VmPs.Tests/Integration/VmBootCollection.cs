namespace VmPs.Tests.Integration;

/// <summary>
/// Every test class that boots VMs (QEMU under TCG, a busy vCPU each) or builds a Debian root belongs to this one
/// collection, so on the 2-core machines the gate runs on, only one of them runs at a time: xunit runs the tests of
/// a collection one after another, and collections side by side (xunit.runner.json: two threads). The other thread
/// runs the rest of the suite, which is short and light. Two boots at once were not proven safe: each starves the
/// other's guest of CPU, and the boot deadlines that are generous for one boot are not for two.
/// The collection also holds the one busybox VM that the exec, file, log and terminal tests share.
/// </summary>
[CollectionDefinition(Name)]
public sealed class VmBootCollection : ICollectionFixture<BootedBusyboxVm>
{
    public const string Name = "VM boots";
}
