using System.Management.Automation;
using VmPs.Core.Logs;
using VmPs.PowerShell.Infrastructure;
using VmPs.Protocol.Logs;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets a VM's log: the kernel console (default), the init's structured records, the app's output or the
/// hypervisor's own output. -Wait follows it until Ctrl+C or until the VM stops.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmLog", DefaultParameterSetName = NameSet)]
[OutputType(typeof(string), typeof(InitLogRecord))]
public sealed class GetVmLogCommand : VmTargetCmdlet
{
    [Parameter]
    public VmLogSource Source { get; set; } = VmLogSource.Console;

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Tail { get; set; }

    /// <summary>The lines exactly as the guest wrote them, terminal control characters included.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    [Parameter]
    [Alias("Follow")]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessVm(string name)
    {
        var options = new VmLogOptions { Tail = Tail, Follow = Wait, Raw = Raw };
        if (Source == VmLogSource.Init)
        {
            WriteEach(cancellationToken => Manager.GetInitLogAsync(name, options, cancellationToken), record => WriteTypedObject(record, PSTypeNames.InitLogRecord));
        }
        else
        {
            WriteEach(cancellationToken => Manager.GetLogAsync(name, Source, options, cancellationToken), line => WriteObject(line));
        }
    }

    /// <summary>Writes each item on the pipeline thread as it arrives (a followed log never ends by itself).</summary>
    private void WriteEach<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, Action<T> write)
    {
        var items = Await(cancellationToken => Task.FromResult(source(cancellationToken).GetAsyncEnumerator(cancellationToken)));
        try
        {
            while (Await(_ => items.MoveNextAsync().AsTask()))
            {
                write(items.Current);
            }
        }
        finally
        {
            Await(_ => items.DisposeAsync().AsTask());
        }
    }
}
