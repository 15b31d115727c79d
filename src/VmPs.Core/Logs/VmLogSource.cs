namespace VmPs.Core.Logs;

/// <summary>The logs a VM has (Get-VmLog -Source).</summary>
public enum VmLogSource
{
    /// <summary>The guest's kernel console (serial port): kernel messages and the init's lines.</summary>
    Console,

    /// <summary>The init's structured records, read from the console (one JSON object per boot step).</summary>
    Init,

    /// <summary>The image command's stdout and stderr (the guest's virtio console).</summary>
    App,

    /// <summary>The hypervisor process's own output.</summary>
    Hypervisor,
}

/// <summary>How much of a log to read, and whether to keep following it.</summary>
public sealed record VmLogOptions
{
    /// <summary>Only the last N lines (records for Init) present when the read starts; null: all.</summary>
    public int? Tail { get; init; }

    /// <summary>
    /// Lines exactly as the guest wrote them; by default terminal control characters (escape sequences, C0 and C1
    /// controls but the tab) are removed (see <see cref="TerminalText"/>).
    /// </summary>
    public bool Raw { get; init; }

    /// <summary>After the present content, keep returning new lines until the VM stops or the caller cancels.</summary>
    public bool Follow { get; init; }

    /// <summary>How often a followed log is checked for new content and the VM for having stopped.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);
}
