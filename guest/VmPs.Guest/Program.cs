using VmPs.Guest.Agent;
using VmPs.Guest.Init;
using VmPs.Guest.Logs;
using VmPs.Guest.Shares;

namespace VmPs.Guest;

internal static class Program
{
    private const string Usage = "usage: vmps-guest (as PID 1: the VM init)\n       vmps-guest agent --listen-unix PATH\n       " + AgentService.Usage + "\n       " + LogKeeper.Usage + "\n       " + ReadOnlyBind.Usage;

    /// <summary>
    /// Agent streams (the virtio-serial port, exec pipes) are plain blocking file descriptors, whose async
    /// reads occupy a thread-pool thread each. A one-vCPU VM starts with a single pool thread and the pool
    /// adds more only about every half second, so an exec would wait that long for a free thread.
    /// </summary>
    private const int MinimumPoolThreads = 32;

    public static int Main(string[] args)
    {
        ThreadPool.GetMinThreads(out _, out var completionPortThreads);
        ThreadPool.SetMinThreads(MinimumPoolThreads, completionPortThreads);

        if (Environment.ProcessId == 1)
        {
            return InitProcess.Run();
        }

        if (args is ["agent", "--listen-unix", var path])
        {
            return HostAgent.Run(path);
        }

        if (args is ["agent", "--virtio-port" or "--vsock-port", var channel])
        {
            return AgentService.Run(args[1], channel, metadataPath: null);
        }

        if (args is ["agent", "--virtio-port" or "--vsock-port", var port, "--metadata", var metadata])
        {
            return AgentService.Run(args[1], port, metadata);
        }

        if (args is ["shutdown-hook", var action])
        {
            return SystemdShutdownHook.Run(action);
        }

        if (args is ["keep-logs", ..])
        {
            return LogKeeper.Run(args) ?? Fail();
        }

        if (args is ["bind-readonly", ..])
        {
            return ReadOnlyBind.Run(args) ?? Fail();
        }

        if (args is ["--version"])
        {
            Console.WriteLine(VmPs.Protocol.ProtocolInfo.ProductVersion);
            return 0;
        }

        return Fail();
    }

    private static int Fail()
    {
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
