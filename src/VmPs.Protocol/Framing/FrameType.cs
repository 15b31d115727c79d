namespace VmPs.Protocol.Framing;

/// <summary>
/// What a frame carries. Control frames carry JSON; <see cref="Stdin"/>, <see cref="Stdout"/> and
/// <see cref="Stderr"/> carry raw bytes. Values are grouped by feature so new operations get their own range.
/// </summary>
public enum FrameType : byte
{
    Hello = 0x01,
    HelloAck = 0x02,

    /// <summary>A request on this channel failed; payload <see cref="Messages.ErrorMessage"/>.</summary>
    Error = 0x03,

    Ping = 0x10,
    Pong = 0x11,

    ExecStart = 0x20,
    ExecStarted = 0x21,
    Stdin = 0x22,
    StdinClose = 0x23,
    Stdout = 0x24,
    Stderr = 0x25,
    ExecExit = 0x26,
    Signal = 0x27,

    /// <summary>Reserved: window size of an exec's terminal.</summary>
    TtyResize = 0x28,

    Shutdown = 0x30,
    ShutdownAck = 0x31,

    /// <summary>Reserved: file read/write/stat/delete/list requests.</summary>
    FileRequest = 0x40,

    /// <summary>Reserved: a chunk of file or tar-stream content.</summary>
    FileData = 0x41,

    /// <summary>Reserved: end of file or tar-stream content.</summary>
    FileEnd = 0x42,

    /// <summary>Reserved: set the guest clock (after restore).</summary>
    ClockSync = 0x50,

    /// <summary>Reapply the guest's address, gateway, DNS and MTU; payload <see cref="Messages.NetworkConfigureMessage"/>.</summary>
    NetworkConfigure = 0x60,

    /// <summary>The new network setup is in place; payload <see cref="Messages.NetworkConfiguredMessage"/>.</summary>
    NetworkConfigured = 0x61,
}
