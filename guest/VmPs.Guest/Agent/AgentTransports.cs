using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Protocol.Framing;

namespace VmPs.Guest.Agent;

/// <summary>The ways the agent meets the host: a virtio-serial port, vsock, or (outside a VM, for tests) a Unix socket.</summary>
internal static class AgentTransports
{
    private static readonly TimeSpan FailedWaitBackoff = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Serves the one stream of a virtio-serial port forever, one session per host connection. All sessions share
    /// one writer, so frames a command of an ended session still sends never interleave with the next session's.
    /// </summary>
    public static void ServeVirtioSerial(string devicePath, AgentContext context)
    {
        var port = new FileStream(File.OpenHandle(devicePath, FileMode.Open, FileAccess.ReadWrite), FileAccess.ReadWrite, bufferSize: 0);
        var writer = new FrameWriter(port);
        StartThread("agent-vport", () =>
        {
            while (true)
            {
                try
                {
                    AgentSession.RunAsync(port, writer, context, CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (Exception error)
                {
                    // Never let an agent bug take PID 1 (and so the kernel) down; the next Hello starts afresh.
                    Console.Error.WriteLine($"vmps agent: session failed: {error}");
                }

                WaitForHost(writer);
            }
        });
    }

    /// <summary>
    /// Returns once a host is connected to the port. While none is, the port reads as ended at once, but a write
    /// blocks until one connects: the Listening frame (which hosts skip) waits without polling.
    /// </summary>
    private static void WaitForHost(FrameWriter writer)
    {
        try
        {
            writer.WriteAsync(FrameType.Listening, Frame.ConnectionChannel, ReadOnlyMemory<byte>.Empty, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (IOException error)
        {
            Console.Error.WriteLine($"vmps agent: waiting for the host failed: {error.Message}");
            Thread.Sleep(FailedWaitBackoff);
        }
    }

    /// <summary>Finds the /dev node of the virtio-serial port with this name (no udev: via sysfs).</summary>
    public static string? FindVirtioPort(string name)
    {
        const string ports = "/sys/class/virtio-ports";
        if (!Directory.Exists(ports))
        {
            return null;
        }

        foreach (var port in Directory.EnumerateDirectories(ports))
        {
            var nameFile = Path.Combine(port, "name");
            if (File.Exists(nameFile) && File.ReadAllText(nameFile).Trim() == name)
            {
                var device = "/dev/" + Path.GetFileName(port);
                return File.Exists(device) ? device : null;
            }
        }

        return null;
    }

    public static void ServeVsock(uint port, AgentContext context)
    {
        var listener = NativeMethods.VsockListen(port);
        if (listener < 0)
        {
            throw new IOException($"Cannot listen on vsock port {port}: {Libc.ErrorText(-listener)}.");
        }

        StartThread("agent-vsock", () =>
        {
            while (true)
            {
                var connection = NativeMethods.Accept(listener);
                if (connection < 0)
                {
                    continue;
                }

                var stream = new FileStream(new SafeFileHandle(connection, ownsHandle: true), FileAccess.ReadWrite, bufferSize: 0);
                _ = Task.Run(() => ServeAndCloseAsync(stream, context));
            }
        });
    }

    /// <summary>Serves agent sessions on a Unix socket until <paramref name="stop"/> is cancelled.</summary>
    public static async Task ServeUnixSocketAsync(string path, AgentContext context, CancellationToken stop)
    {
        File.Delete(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(stop).ConfigureAwait(false);
                _ = Task.Run(() => ServeAndCloseAsync(new NetworkStream(connection, ownsSocket: true), context));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task ServeAndCloseAsync(Stream stream, AgentContext context)
    {
        await using (stream.ConfigureAwait(false))
        {
            await AgentSession.RunAsync(stream, new FrameWriter(stream), context, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static void StartThread(string name, Action body) => new Thread(() => body()) { IsBackground = true, Name = name }.Start();
}
