using VmPs.Core.Agent;


namespace VmPs.Core.Vms;

/// <summary>
/// One agent connection per running VM for all the execs of this process. The agent multiplexes requests on
/// one connection, and QEMU's virtio-serial port allows a single connection at a time (its connector holds an
/// exclusive lock), so separate connections would run concurrent execs one after the other, or deadlock when
/// one exec waits on another (a command fed from a pipeline that itself runs commands in the same VM).
/// The connection closes when its last user is done, so other processes can connect again.
/// </summary>
internal static class SharedAgentConnections
{
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);
    private static readonly object Gate = new();

    /// <summary>
    /// A use of the running VM's shared connection; disposing it ends the use. <paramref name="lockTimeout"/> bounds the
    /// wait for a port another session holds (null: the connector's default).
    /// </summary>
    public static Task<Lease> AcquireAsync(VmRecord vm, TimeSpan? lockTimeout, CancellationToken cancellationToken)
    {
        var endpoint = vm.Instance?.Agent ?? throw VmErrors.NotRunning(vm.Name, vm.State);
        return AcquireAsync($"{vm.Id:N} {endpoint}", token => AgentClient.ConnectAsync(AgentConnectors.For(endpoint, lockTimeout), token), cancellationToken);
    }

    /// <summary>A use of the VM's shared connection; disposing it ends the use.</summary>
    public static async Task<Lease> AcquireAsync(string key, Func<CancellationToken, Task<AgentClient>> connect, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (Gate)
        {
            if (!Entries.TryGetValue(key, out entry!) || entry.Connecting.IsFaulted || entry.Connecting.IsCanceled)
            {
                // The connection is made without the caller's token: other callers may come to share it.
                entry = new Entry(connect(CancellationToken.None));
                Entries[key] = entry;
            }

            entry.Users++;
        }

        var lease = new Lease(key, entry);
        try
        {
            await lease.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return lease;
        }
        catch
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask ReleaseAsync(string key, Entry entry)
    {
        lock (Gate)
        {
            if (--entry.Users > 0)
            {
                return;
            }

            if (Entries.TryGetValue(key, out var current) && current == entry)
            {
                Entries.Remove(key);
            }
        }

        try
        {
            await (await entry.Connecting.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception error) when (error is VmPsException or IOException or OperationCanceledException)
        {
            // It never connected: nothing to close.
        }
    }

    internal sealed class Entry(Task<AgentClient> connecting)
    {
        public Task<AgentClient> Connecting { get; } = connecting;

        public int Users { get; set; }
    }

    internal sealed class Lease : IAsyncDisposable
    {
        private readonly string key;
        private readonly Entry entry;
        private int released;

        internal Lease(string key, Entry entry)
        {
            this.key = key;
            this.entry = entry;
        }

        public AgentClient Client { get; private set; } = null!;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                await ReleaseAsync(key, entry).ConfigureAwait(false);
            }
        }

        internal async Task InitializeAsync(CancellationToken cancellationToken) =>
            Client = await entry.Connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
