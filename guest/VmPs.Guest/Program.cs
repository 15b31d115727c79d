using VmPs.Guest.Agent;
using VmPs.Guest.Init;

namespace VmPs.Guest;

internal static class Program
{
    private const string Usage = "usage: vmps-guest (as PID 1: the VM init)\n       vmps-guest agent --listen-unix PATH";

    public static int Main(string[] args)
    {
        if (Environment.ProcessId == 1)
        {
            return InitProcess.Run();
        }

        if (args is ["agent", "--listen-unix", var path])
        {
            return HostAgent.Run(path);
        }

        if (args is ["--version"])
        {
            Console.WriteLine(VmPs.Protocol.ProtocolInfo.ProductVersion);
            return 0;
        }

        Console.Error.WriteLine(Usage);
        return 2;
    }
}
