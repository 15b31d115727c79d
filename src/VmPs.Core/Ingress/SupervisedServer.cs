using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Ingress;

/// <summary>
/// A server of the ingress that VmPs starts detached (it outlives the session), recognises by its pid file and its
/// working directory (the ingress directory), reaches on a unix socket there, and starts again when it died or stopped
/// answering: Caddy and the token checker.
/// </summary>
internal sealed class SupervisedServer
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly string directory;
    private readonly string pidFile;
    private readonly string socket;

    public SupervisedServer(string directory, string pidFile, string socket)
    {
        this.directory = directory;
        this.pidFile = pidFile;
        this.socket = socket;
    }

    /// <summary>Whether VmPs ever started it for this state directory (and did not stop it).</summary>
    public bool WasStarted => File.Exists(pidFile);

    /// <summary>The running server, or null.</summary>
    public ProcessIdentity? Running =>
        PidFile.Read(pidFile) is { } identity && ProcessProbe.IsDetachedFor(identity, directory) ? identity : null;

    /// <summary>
    /// Returns when the server runs and <paramref name="pingAsync"/> says it answers; otherwise ends what is left of it,
    /// starts it with <paramref name="startAsync"/> (which writes the pid file) and waits for it to answer.
    /// <paramref name="failure"/> makes the error for a server that exits or does not answer in time.
    /// </summary>
    public async Task EnsureRunningAsync(
        Func<CancellationToken, Task<bool>> pingAsync,
        Func<CancellationToken, Task<ProcessIdentity>> startAsync,
        Func<string, VmPsException> failure,
        CancellationToken cancellationToken)
    {
        var running = Running;
        if (running is not null && await pingAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (running is { } stuck)
        {
            await ProcessProbe.KillAsync(stuck, StopTimeout, cancellationToken).ConfigureAwait(false);
        }

        PrivateFiles.CreateDirectory(directory);
        File.Delete(socket);
        var identity = await startAsync(cancellationToken).ConfigureAwait(false);
        var outcome = await ServerStartWait.UntilAnswersAsync(identity, pingAsync, StartTimeout, cancellationToken).ConfigureAwait(false);
        if (outcome != ServerStartOutcome.Answered)
        {
            await ProcessProbe.KillAsync(identity, StopTimeout, cancellationToken).ConfigureAwait(false);
            throw failure(outcome == ServerStartOutcome.Exited ? "it exited" : $"it did not answer on its socket within {StartTimeout.TotalSeconds:0} s");
        }

        // Servers bind their socket with the umask's mode; inside the 0700 directory it is private already, and 0600 by rule.
        PrivateFiles.Restrict(socket);
    }

    /// <summary>Ends the server and forgets it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Running is { } identity)
        {
            await ProcessProbe.KillAsync(identity, StopTimeout, cancellationToken).ConfigureAwait(false);
        }

        File.Delete(pidFile);
        File.Delete(socket);
    }
}
