using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Terminals;

/// <summary>
/// The terminal this process runs on (pwsh's for Enter-Vm, the SSH session's pty for the SSH gateway), through termios:
/// whether fds are terminals, the window size, and raw mode (every byte, Ctrl+C included, is passed on as typed; no
/// echo, no line editing, no output translation).
/// </summary>
public static class LocalTerminal
{
    public const int StandardInput = 0;
    public const int StandardOutput = 1;

    private const ulong GetWindowSizeRequest = 0x5413; // TIOCGWINSZ
    private const int SetAfterOutputDrained = 1; // TCSADRAIN
    private const int TermiosBufferSize = 256; // larger than struct termios on every Linux ABI

    public static bool IsTerminal(int fd) => Libc.isatty(fd) == 1;

    /// <summary>The window size of the terminal on <paramref name="fd"/>; null when it has none.</summary>
    public static (int Columns, int Rows)? WindowSize(int fd)
    {
        var size = new ushort[4]; // struct winsize: rows, columns, then pixels
        return Libc.ioctl(fd, GetWindowSizeRequest, size) == 0 && size[0] > 0 && size[1] > 0 ? (size[1], size[0]) : null;
    }

    /// <summary>Puts the terminal on <paramref name="fd"/> in raw mode until the returned object is disposed.</summary>
    public static IDisposable EnterRawMode(int fd)
    {
        var saved = new byte[TermiosBufferSize];
        if (Libc.tcgetattr(fd, saved) != 0)
        {
            throw new IOException($"Cannot read the terminal settings: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var raw = (byte[])saved.Clone();
        Libc.cfmakeraw(raw);
        if (Libc.tcsetattr(fd, SetAfterOutputDrained, raw) != 0)
        {
            throw new IOException($"Cannot switch the terminal to raw mode: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        return new RawModeScope(fd, saved);
    }

    private sealed class RawModeScope(int fd, byte[] saved) : IDisposable
    {
        private int restored;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref restored, 1) == 0)
            {
                Libc.tcsetattr(fd, SetAfterOutputDrained, saved);
            }
        }
    }
}
