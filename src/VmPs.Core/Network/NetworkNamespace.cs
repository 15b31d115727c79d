using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Network;

/// <summary>
/// The Linux network namespace VmPs networks live in: the caller's own (the default) or a named
/// one under /run/netns, chosen per installation with VMPS_NETNS (tests use their own).
/// Work for a named namespace runs on one dedicated thread that joined it with setns, so
/// netlink sockets, TAP descriptors and child processes (nft, tc, the hypervisor) started from
/// that work are created inside it. Process-wide state is never switched.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    /// <summary>Names the namespace (under /run/netns) a VmPs installation works in.</summary>
    public const string EnvironmentVariable = "VMPS_NETNS";

    private const int NewNetworkNamespace = 0x40000000;
    private const string NamedNamespaceDirectory = "/run/netns";

    private static readonly ConcurrentDictionary<string, Lazy<NetworkNamespace>> SharedNamespaces = new(StringComparer.Ordinal);

    private readonly BlockingCollection<Action>? queue;
    private readonly Thread? thread;

    private NetworkNamespace(string? name, BlockingCollection<Action>? queue, Thread? thread)
    {
        Name = name;
        this.queue = queue;
        this.thread = thread;
    }

    /// <summary>The caller's own namespace: work runs inline on the calling thread.</summary>
    public static NetworkNamespace Current { get; } = new(null, null, null);

    /// <summary>The namespace's name under /run/netns, or null for the caller's own.</summary>
    public string? Name { get; }

    /// <summary>$VMPS_NETNS's namespace (<see cref="Shared"/>) when set, else <see cref="Current"/>.</summary>
    public static NetworkNamespace FromEnvironment() => Shared(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// The process's one joined instance of /run/netns/<paramref name="name"/> (<see cref="Current"/> for
    /// null or empty): joining costs a thread, and every session, cmdlet and completer of the process uses
    /// the same namespace. Never dispose it. A join that failed is not kept, so the next call tries again.
    /// </summary>
    public static NetworkNamespace Shared(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return Current;
        }

        var joined = SharedNamespaces.GetOrAdd(name, key => new Lazy<NetworkNamespace>(() => Named(key)));
        try
        {
            return joined.Value;
        }
        catch
        {
            SharedNamespaces.TryRemove(new KeyValuePair<string, Lazy<NetworkNamespace>>(name, joined));
            throw;
        }
    }

    /// <summary>Joins /run/netns/<paramref name="name"/> (as made by `ip netns add`) on a thread of its own, owned by the caller.</summary>
    public static NetworkNamespace Named(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new VmPsException(VmPsErrorIds.InvalidNetworkNamespace, VmPsErrorKind.InvalidArgument, $"'{name}' is not a network namespace name.", name);
        }

        var path = Path.Combine(NamedNamespaceDirectory, name);
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new BlockingCollection<Action>();
        var thread = new Thread(() => Serve(path, queue, joined))
        {
            IsBackground = true,
            Name = $"netns {name}",
        };
        thread.Start();
        try
        {
            joined.Task.GetAwaiter().GetResult();
        }
        catch
        {
            queue.Dispose();
            throw;
        }

        return new NetworkNamespace(name, queue, thread);
    }

    /// <summary>Runs synchronous <paramref name="work"/> inside the namespace.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        cancellationToken.ThrowIfCancellationRequested();
        if (queue is null)
        {
            try
            {
                return Task.FromResult(work());
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }
        }

        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        try
        {
            queue.Add(() =>
            {
                registration.Dispose();
                if (completion.Task.IsCompleted)
                {
                    return;
                }

                try
                {
                    completion.TrySetResult(work());
                }
                catch (Exception ex)
                {
                    completion.TrySetException(ex);
                }
            });
        }
        catch (InvalidOperationException)
        {
            registration.Dispose();
            throw new ObjectDisposedException(nameof(NetworkNamespace));
        }

        return completion.Task;
    }

    public Task RunAsync(Action work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunAsync(
            () =>
            {
                work();
                return true;
            },
            cancellationToken);
    }

    /// <summary>
    /// Starts <paramref name="start"/> (which must start its processes before its first await)
    /// inside the namespace and awaits the task it returns, so the processes it forks are inside.
    /// </summary>
    public async Task<T> RunStartedAsync<T>(Func<Task<T>> start, CancellationToken cancellationToken)
    {
        var started = await RunAsync(start, cancellationToken).ConfigureAwait(false);
        return await started.ConfigureAwait(false);
    }

    /// <summary>Stops the namespace's thread (queued work still runs). <see cref="Current"/> ignores it.</summary>
    public void Dispose()
    {
        if (queue is null || queue.IsAddingCompleted)
        {
            return;
        }

        queue.CompleteAdding();
        if (thread != Thread.CurrentThread)
        {
            thread!.Join();
        }
    }

    public override string ToString() => Name ?? "(current)";

    private static void Serve(string path, BlockingCollection<Action> queue, TaskCompletionSource joined)
    {
        try
        {
            Join(path);
        }
        catch (Exception ex)
        {
            joined.SetException(ex);
            return;
        }

        joined.SetResult();
        foreach (var work in queue.GetConsumingEnumerable())
        {
            work();
        }

        queue.Dispose();
    }

    private static void Join(string path)
    {
        if (!File.Exists(path))
        {
            throw new VmPsException(
                VmPsErrorIds.NetworkNamespaceNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"The network namespace '{path}' does not exist.",
                path)
            {
                RecommendedAction = $"Create it with 'ip netns add {Path.GetFileName(path)}', or unset {EnvironmentVariable} to use the host's own namespace.",
            };
        }

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        if (Libc.setns((int)handle.DangerousGetHandle(), NewNetworkNamespace) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new VmPsException(
                VmPsErrorIds.NetworkNamespaceUnavailable,
                error == 1 ? VmPsErrorKind.PermissionDenied : VmPsErrorKind.ResourceUnavailable,
                $"Cannot enter the network namespace '{path}': {Marshal.GetPInvokeErrorMessage(error)}.",
                path);
        }
    }
}
