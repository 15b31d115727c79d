using System.Diagnostics;
using System.Net.Sockets;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Agent;

/// <summary>The real published guest binary running as "vmps-guest agent --listen-unix SOCKET" on the host.</summary>
public sealed class GuestAgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string directory;

    private GuestAgentProcess(string directory, Process process)
    {
        this.directory = directory;
        Process = process;
    }

    public Process Process { get; }

    public string SocketPath => Path.Combine(directory, "agent.sock");

    public IAgentConnector Connector => new AgentVirtioSerialConnector(SocketPath);

    public static async Task<GuestAgentProcess> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("vmps-agent-").FullName;
        var agent = Launch(directory, Path.Combine(directory, "agent.sock"));
        using var timeout = new CancellationTokenSource(StartTimeout);
        // The socket file appears at bind(2), before listen(2): only a connection that succeeds proves it listens.
        while (!await AcceptsConnectionsAsync(agent.SocketPath))
        {
            if (agent.Process.HasExited)
            {
                throw new InvalidOperationException($"vmps-guest agent exited with {agent.Process.ExitCode}: {await agent.Process.StandardError.ReadToEndAsync()}");
            }

            await Task.Delay(10, timeout.Token);
        }

        return agent;
    }

    private static async Task<bool> AcceptsConnectionsAsync(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Starts the agent on <paramref name="socketPath"/> without waiting for it to listen.</summary>
    public static GuestAgentProcess Launch(string directory, string socketPath)
    {
        var start = new ProcessStartInfo(GuestBinary.Locate(), ["agent", "--listen-unix", socketPath])
        {
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        start.Environment["VMPS_TEST_BASE"] = "from-agent-environment";
        return new GuestAgentProcess(directory, Process.Start(start)!);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>One agent process shared by the tests of a class.</summary>
public sealed class GuestAgentFixture : IAsyncLifetime
{
    public GuestAgentProcess Agent { get; private set; } = null!;

    public async Task InitializeAsync() => Agent = await GuestAgentProcess.StartAsync();

    public async Task DisposeAsync() => await Agent.DisposeAsync();
}
