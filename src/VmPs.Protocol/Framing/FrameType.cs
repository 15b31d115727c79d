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

    /// <summary>
    /// Guest to host on the connection channel, empty: the agent waits for a Hello. On virtio-serial the agent writes
    /// it when a session ends, and the write completes once a host is connected; hosts skip it.
    /// </summary>
    Listening = 0x04,

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

    /// <summary>New window size of a TTY exec's terminal; payload <see cref="Messages.TerminalSizeMessage"/>.</summary>
    TtyResize = 0x28,

    /// <summary>Host to guest: the host consumed this much of an exec's output; payload <see cref="Messages.CreditMessage"/>.</summary>
    OutputCredit = 0x29,

    /// <summary>Guest to host: the agent passed this much stdin on to the process; payload <see cref="Messages.CreditMessage"/>.</summary>
    StdinCredit = 0x2A,

    Shutdown = 0x30,
    ShutdownAck = 0x31,

    /// <summary>Starts a file operation on its channel; payload <see cref="Messages.FileRequestMessage"/>.</summary>
    FileRequest = 0x40,

    /// <summary>A chunk of file or tar-stream content, in either direction, within the receiver's credit.</summary>
    FileData = 0x41,

    /// <summary>The sender has no more content (empty payload).</summary>
    FileEnd = 0x42,

    /// <summary>The receiver consumed more content: 8-byte big-endian count the sender may send in addition.</summary>
    FileCredit = 0x43,

    /// <summary>The guest accepted a transfer; payload <see cref="Messages.FileReadyMessage"/>.</summary>
    FileReady = 0x44,

    /// <summary>A file operation finished; payload <see cref="Messages.FileResultMessage"/>.</summary>
    FileResult = 0x45,

    /// <summary>A batch of directory entries of a list operation; payload <see cref="Messages.FileEntriesMessage"/>.</summary>
    FileEntries = 0x46,

    /// <summary>The host abandons the transfer on this channel (empty payload); the guest undoes what it wrote.</summary>
    FileCancel = 0x47,

    /// <summary>Set the guest clock to the host's; payload <see cref="Messages.ClockSyncMessage"/>.</summary>
    ClockSync = 0x50,

    /// <summary>The guest clock was set; payload <see cref="Messages.ClockSyncedMessage"/>.</summary>
    ClockSynced = 0x51,

    /// <summary>Reapply the guest's address, gateway, DNS and MTU; payload <see cref="Messages.NetworkConfigureMessage"/>.</summary>
    NetworkConfigure = 0x60,

    /// <summary>The new network setup is in place; payload <see cref="Messages.NetworkConfiguredMessage"/>.</summary>
    NetworkConfigured = 0x61,

    /// <summary>Mount a hot-plugged volume; payload <see cref="Messages.VolumeMountMessage"/>.</summary>
    VolumeMount = 0x70,

    /// <summary>The volume is mounted; payload <see cref="Messages.VolumeMountedMessage"/>.</summary>
    VolumeMounted = 0x71,

    /// <summary>Unmount a volume before its disk is unplugged; payload <see cref="Messages.VolumeUnmountMessage"/>.</summary>
    VolumeUnmount = 0x72,

    /// <summary>The volume is unmounted (empty payload).</summary>
    VolumeUnmounted = 0x73,

    /// <summary>Take on this VM's identity after a restore or fork; payload <see cref="Messages.IdentityApplyMessage"/>.</summary>
    IdentityApply = 0x80,

    /// <summary>The identity is in place; payload <see cref="Messages.IdentityAppliedMessage"/>.</summary>
    IdentityApplied = 0x81,

    /// <summary>Serve this instance metadata from now on (Set-Vm -MetadataOptions, a restore or fork); payload <see cref="Messages.MetadataApplyMessage"/>.</summary>
    MetadataApply = 0x90,

    /// <summary>The metadata service serves the new data (empty payload).</summary>
    MetadataApplied = 0x91,

    /// <summary>Bring every offline vCPU online (after the hypervisor hot-added some); empty payload.</summary>
    CpusOnline = 0xA0,

    /// <summary>The vCPUs are online; payload <see cref="Messages.CpusOnlinedMessage"/>.</summary>
    CpusOnlined = 0xA1,
}
