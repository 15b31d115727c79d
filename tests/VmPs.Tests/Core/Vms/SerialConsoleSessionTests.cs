using System.Net.Sockets;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// The console session against a real Unix socket pair standing for QEMU's console socket: the user's detach key
/// ends it and is never sent, the guest's bytes (the same key among them) reach the terminal unchanged.
/// </summary>
public sealed class SerialConsoleSessionTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly Socket guest;
    private readonly SerialConsoleSession session;

    public SerialConsoleSessionTests()
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(scratch.Combine("console.sock")));
        listener.Listen(1);
        var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(scratch.Combine("console.sock")));
        guest = listener.Accept();
        listener.Dispose();
        session = new SerialConsoleSession(new NetworkStream(host, ownsSocket: true), FileLock.TryAcquire(scratch.Combine("console.lock"))!);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'l', (byte)'s', 13 }, 3, false)]
    [InlineData(new byte[] { 0x1D }, 0, true)]
    [InlineData(new byte[] { (byte)'a', 0x1D, (byte)'b' }, 1, true)]
    [InlineData(new byte[] { 0x1B, (byte)'[', (byte)'A', 0x03, 0x04 }, 5, false)]
    [InlineData(new byte[0], 0, false)]
    public void The_detach_key_is_Ctrl_bracket_and_only_what_comes_before_it_is_sent(byte[] typed, int forward, bool detach)
    {
        Assert.Equal((forward, detach), ConsoleDetachKey.Scan(typed));
    }

    [Fact]
    public async Task Typed_bytes_reach_the_guest_until_the_detach_key_which_ends_the_session()
    {
        var output = new ConsoleCapture();
        var running = session.RunAsync(output, default);

        await session.SendAsync("root\r"u8.ToArray(), default);
        await session.SendAsync("ls\u001dreboot\r"u8.ToArray(), default);
        await session.SendAsync("more\r"u8.ToArray(), default);

        Assert.Equal(SerialConsoleEnd.Detached, await running);
        Assert.True(session.IsDetached);
        await session.DisposeAsync();
        Assert.Equal("root\rls"u8.ToArray(), await ReadToEndAsync(guest));
    }

    [Fact]
    public async Task Guest_output_is_passed_on_unchanged_and_its_own_detach_bytes_do_not_detach()
    {
        byte[] hostile = [0x1D, 0x1B, (byte)']', (byte)'0', (byte)';', (byte)'x', 0x07, 0x1B, (byte)'[', (byte)'6', (byte)'n', 0x00, 0xFF, 0x1D];
        var output = new ConsoleCapture();
        var running = session.RunAsync(output, default);

        await guest.SendAsync(hostile);
        guest.Shutdown(SocketShutdown.Both);

        Assert.Equal(SerialConsoleEnd.ConsoleClosed, await running);
        Assert.False(session.IsDetached);
        Assert.Equal(hostile, output.Bytes);
    }

    [Fact]
    public async Task The_session_holds_the_console_lock_until_disposed()
    {
        Assert.Null(FileLock.TryAcquire(scratch.Combine("console.lock")));
        await session.DisposeAsync();
        using var again = FileLock.TryAcquire(scratch.Combine("console.lock"));
        Assert.NotNull(again);
    }

    public void Dispose()
    {
        session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        guest.Dispose();
        scratch.Dispose();
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received);
        return received.ToArray();
    }
}
