using System.Collections;
using VmPs.Guest.Processes;

namespace VmPs.Guest.Agent;

/// <summary>
/// The agent outside a VM, on a Unix socket, so the host's tests exercise the real agent without a boot.
/// A shutdown request ends it (it has no machine to power off).
/// </summary>
internal static class HostAgent
{
    public static int Run(string socketPath)
    {
        var children = new ChildProcesses();
        children.StartReaper();
        using var stop = new CancellationTokenSource();
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().Select(entry => $"{entry.Key}={entry.Value}").ToArray();
        var context = new AgentContext(children, environment, Environment.CurrentDirectory, _ => stop.Cancel()) { OwnsMachine = false };
        AgentTransports.ServeUnixSocketAsync(socketPath, context, stop.Token).GetAwaiter().GetResult();
        return 0;
    }
}
