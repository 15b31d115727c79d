using System.Diagnostics;
using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Streams;

namespace VmPs.Core.Agent;

/// <summary>
/// Files in a guest through its agent: stat, list, delete, streaming read and write, and recursive copies in
/// both directions as tar streams. Content is never buffered whole: it flows in chunks within a credit window,
/// so a slow end slows the other down instead of filling memory. Guest paths are absolute.
/// </summary>
public sealed class AgentFileClient
{
    private const int ProgressStepBytes = 1024 * 1024;
    private const int CopyBufferBytes = 256 * 1024;

    /// <summary>What a guest may send after the end of an archive (tar pads to records of 10 KiB).</summary>
    private const int MaxBytesAfterArchive = 1024 * 1024;

    private readonly AgentClient client;

    public AgentFileClient(AgentClient client)
    {
        this.client = client;
    }

    /// <summary>The entry at <paramref name="path"/> (a link itself, not its target); GuestFileNotFound when missing.</summary>
    public async Task<GuestFileInfo> StatAsync(string path, CancellationToken cancellationToken)
    {
        var result = await RunAsync(Request(FileOperation.Stat, path), (channel, token) => ResultOf(channel, token), cancellationToken).ConfigureAwait(false);
        return GuestFileInfo.From(result.Info ?? throw AgentErrors.ProtocolError("A stat result carried no file information."));
    }

    /// <summary>Like <see cref="StatAsync"/>, but null when nothing is at <paramref name="path"/>.</summary>
    public async Task<GuestFileInfo?> TryStatAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await StatAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.GuestFileNotFound)
        {
            return null;
        }
    }

    /// <summary>The entries of a directory, in ordinal name order; more than <see cref="AgentFileChannel.MaxListedEntries"/> fail with GuestListingTooLarge.</summary>
    public Task<IReadOnlyList<GuestFileInfo>> ListAsync(string path, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.List, path), async (channel, token) =>
        {
            await ResultOf(channel, token).ConfigureAwait(false);
            return channel.Entries;
        }, cancellationToken);

    /// <summary>Deletes a file or link, an empty directory, or with <paramref name="recursive"/> a whole tree.</summary>
    public Task DeleteAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.Delete, path) with { Recursive = recursive }, (channel, token) => ResultOf(channel, token), cancellationToken);

    /// <summary>Streams a guest file's content into <paramref name="destination"/>; returns the file's information.</summary>
    public Task<GuestFileInfo> ReadAsync(string path, Stream destination, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.Read, path), async (channel, token) =>
        {
            var content = channel.Receiver!;
            var ready = await ReadyOf(channel, token).ConfigureAwait(false);
            var reporter = new ProgressReporter(progress, ready.TotalBytes);
            var buffer = new byte[CopyBufferBytes];
            int read;
            while ((read = await content.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                reporter.Add(read);
            }

            reporter.Finish();
            return GuestFileInfo.From(ready.Info!);
        }, cancellationToken, prepare: channel => channel.Receive());

    /// <summary>
    /// Writes <paramref name="source"/> to a guest file, creating its parent directories; the file is replaced
    /// atomically (temporary file and rename). Returns the written file's information.
    /// </summary>
    public Task<GuestFileInfo> WriteAsync(string path, Stream source, GuestFileWriteOptions? options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        options ??= new GuestFileWriteOptions();
        var request = Request(FileOperation.Write, path) with { Overwrite = options.Overwrite, Mode = (int?)options.Mode, Uid = options.Uid, Gid = options.Gid };
        var reporter = new ProgressReporter(progress, source.CanSeek ? source.Length - source.Position : 0);
        return RunAsync(request, async (channel, token) =>
        {
            await ReadyOf(channel, token).ConfigureAwait(false);
            await source.CopyToAsync(channel.Sender!, CopyBufferBytes, token).ConfigureAwait(false);
            await channel.Sender!.CompleteAsync(token).ConfigureAwait(false);
            var result = await ResultOf(channel, token).ConfigureAwait(false);
            reporter.Finish();
            return GuestFileInfo.From(result.Info!);
        }, cancellationToken, prepare: channel => channel.Send(reporter.Add));
    }

    /// <summary>
    /// Copies a host file or (with <see cref="GuestCopyOptions.Recurse"/>) directory tree into the guest, as cp does:
    /// into <paramref name="guestPath"/> when that is a directory (or ends with /), else as <paramref name="guestPath"/>.
    /// Modes, times and symbolic links are kept, owners too with <see cref="GuestCopyOptions.PreserveOwnership"/>
    /// (else the copy belongs to the agent's user, root). The destination directory must exist unless
    /// <see cref="GuestCopyOptions.CreateFullPath"/>; an existing target fails with GuestFileExists unless
    /// <see cref="GuestCopyOptions.Overwrite"/>. A copy that fails removes what it created.
    /// </summary>
    public async Task<GuestFileCopyResult> CopyToGuestAsync(string hostPath, string guestPath, GuestCopyOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequireAbsolute(guestPath);
        var source = ResolveHostSource(hostPath, options.Recurse);
        var destination = await TryStatAsync(guestPath, cancellationToken).ConfigureAwait(false);
        var intoDirectory = destination?.Type == FileKind.Directory || guestPath.EndsWith('/');
        var target = intoDirectory
            ? JoinGuest(guestPath, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(hostPath))))
            : guestPath;
        var (parent, entryName) = SplitGuest(target);
        var parentExists = intoDirectory ? destination is not null : await TryStatAsync(parent, cancellationToken).ConfigureAwait(false) is not null;
        if (!parentExists && !options.CreateFullPath)
        {
            throw AgentFileErrors.DestinationNotFound(parent, inGuest: true);
        }

        var existing = target == guestPath ? destination : await TryStatAsync(target, cancellationToken).ConfigureAwait(false);
        if (existing is not null && !options.Overwrite)
        {
            throw AgentFileErrors.GuestExists(target);
        }

        var request = Request(FileOperation.Extract, parent) with
        {
            Overwrite = options.Overwrite,
            PreserveOwnership = options.PreserveOwnership,
            EntryName = entryName,
            Recursive = options.Recurse,
        };
        try
        {
            var result = await ExtractAsync(
                request,
                (archive, token) => WriteHostTreeAsync(archive, source, entryName, token),
                new ProgressReporter(progress, TarTreeWriter.MeasureContent(source)),
                cancellationToken).ConfigureAwait(false);
            return new GuestFileCopyResult(source, target, result.Files, result.Bytes, clock.Elapsed);
        }
        catch when (existing is null)
        {
            await RemovePartialGuestCopyAsync(target).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Streams a tar archive to the guest, which extracts it under <paramref name="guestDirectory"/> (created
    /// with its parents). Entries that would land outside it (absolute, "..", through a symbolic link pointing
    /// out) fail with GuestPathEscape. Existing files fail with GuestFileExists unless <paramref name="overwrite"/>.
    /// </summary>
    public async Task<GuestFileCopyResult> ExtractArchiveAsync(Stream archive, string guestDirectory, bool overwrite, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var total = archive.CanSeek ? archive.Length - archive.Position : 0;
        var result = await ExtractAsync(
            Request(FileOperation.Extract, guestDirectory) with { Overwrite = overwrite },
            (sender, token) => archive.CopyToAsync(sender, CopyBufferBytes, token),
            new ProgressReporter(progress, total),
            cancellationToken).ConfigureAwait(false);
        return new GuestFileCopyResult("(archive)", guestDirectory, result.Files, result.Bytes, clock.Elapsed);
    }

    /// <summary>
    /// Copies a guest file or (with <see cref="GuestCopyOptions.Recurse"/>) directory tree to the host, as cp does:
    /// into <paramref name="hostPath"/> when that is a directory (or ends with /), under the last name of
    /// <paramref name="guestPath"/>; else as <paramref name="hostPath"/>. Every host path comes from these two
    /// arguments, never from the guest: its tar stream may hold only the requested file or tree
    /// (HostArchiveUnexpectedEntry otherwise), is written below the target by <see cref="TarTreeExtractor"/>, and
    /// gets this process's ownership and the rwx bits less the umask, never setuid, setgid, sticky, devices or FIFOs;
    /// <see cref="GuestCopyOptions.PreserveOwnership"/> keeps the guest's owners and modes, set-id bits still
    /// stripped. The destination directory must exist unless <see cref="GuestCopyOptions.CreateFullPath"/>. A copy
    /// that fails removes what it created.
    /// </summary>
    public async Task<GuestFileCopyResult> CopyFromGuestAsync(string guestPath, string hostPath, GuestCopyOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequireAbsolute(guestPath);
        var info = await StatAsync(guestPath, cancellationToken).ConfigureAwait(false);
        if (info.Type == FileKind.Directory && !options.Recurse)
        {
            throw AgentFileErrors.RecurseRequired(guestPath);
        }

        var target = HostTarget(guestPath, hostPath);
        var parent = Path.GetDirectoryName(target)!;
        var name = Path.GetFileName(target);
        PrepareHostDirectory(parent, options.CreateFullPath);
        var existing = HostStatus(target);
        if (existing is not null && !options.Overwrite)
        {
            throw AgentFileErrors.HostExists(target);
        }

        using var destination = OpenHostDestination(parent);
        var extractOptions = new TarExtractOptions
        {
            Overwrite = options.Overwrite,
            Modes = options.PreserveOwnership ? ExtractedModes.OwnerAndModeWithoutSetId : ExtractedModes.Invoker,
            RootName = name,
            AllowTree = options.Recurse,
        };
        var request = Request(FileOperation.Archive, guestPath) with { Recursive = options.Recurse, EntryName = name };
        try
        {
            var result = await RunAsync(request, async (channel, token) =>
            {
                var archive = channel.Receiver!;
                var ready = await ReadyOf(channel, token).ConfigureAwait(false);
                var reporter = new ProgressReporter(progress, ready.TotalBytes);
                var extracted = await ExtractOnHostAsync(new ProgressStream(archive, reporter), destination, extractOptions, token).ConfigureAwait(false);
                await DrainAfterArchiveAsync(archive, token).ConfigureAwait(false);
                reporter.Finish();
                return extracted;
            }, cancellationToken, prepare: channel => channel.Receive()).ConfigureAwait(false);
            return new GuestFileCopyResult(guestPath, target, result.Entries, result.Bytes, clock.Elapsed);
        }
        catch when (existing is null)
        {
            RemovePartialHostCopy(destination, name);
            throw;
        }
    }

    /// <summary>
    /// The host path a copy out of the guest writes, from the user's two paths alone: into an existing directory
    /// (or one named with a trailing /) under the guest path's last name as typed, else the host path itself.
    /// </summary>
    private static string HostTarget(string guestPath, string hostPath)
    {
        var fullHostPath = Path.GetFullPath(hostPath);
        if (!Directory.Exists(fullHostPath) && !hostPath.EndsWith('/'))
        {
            return Path.TrimEndingDirectorySeparator(fullHostPath);
        }

        var requestedName = guestPath.TrimEnd('/');
        requestedName = requestedName[(requestedName.LastIndexOf('/') + 1)..];
        return requestedName is "" or "." or ".."
            ? throw AgentFileErrors.TargetNameRequired(guestPath, hostPath)
            : Path.Combine(fullHostPath, requestedName);
    }

    private Task<FileResultMessage> ExtractAsync(FileRequestMessage request, Func<Stream, CancellationToken, Task> writeArchive, ProgressReporter reporter, CancellationToken cancellationToken) =>
        RunAsync(request, async (channel, token) =>
        {
            await ReadyOf(channel, token).ConfigureAwait(false);
            await writeArchive(channel.Sender!, token).ConfigureAwait(false);
            await channel.Sender!.CompleteAsync(token).ConfigureAwait(false);
            var result = await ResultOf(channel, token).ConfigureAwait(false);
            reporter.Finish();
            return result;
        }, cancellationToken, prepare: channel => channel.Send(reporter.Add));

    /// <summary>The agent's FileReady; like every reply it owes, it fails with AgentNotResponding after the reply timeout of silence.</summary>
    private Task<FileReadyMessage> ReadyOf(AgentFileChannel channel, CancellationToken cancellationToken) =>
        client.AwaitReplyAsync(channel.Ready, "a file request", cancellationToken);

    /// <summary>The agent's FileResult (the end of an operation); content may keep it busy, so any frame counts as an answer.</summary>
    private Task<FileResultMessage> ResultOf(AgentFileChannel channel, CancellationToken cancellationToken) =>
        client.AwaitReplyAsync(channel.Result, "a file request", cancellationToken);

    private static FileRequestMessage Request(FileOperation operation, string path)
    {
        RequireAbsolute(path);
        return new FileRequestMessage(operation, path);
    }

    private static void RequireAbsolute(string guestPath)
    {
        if (string.IsNullOrEmpty(guestPath) || !guestPath.StartsWith('/'))
        {
            throw AgentFileErrors.InvalidGuestPath(guestPath);
        }
    }

    /// <summary>
    /// Sends the request on a channel of its own and runs <paramref name="body"/>; when the host gives up
    /// (cancellation, a host-side failure) the agent is told to abandon the operation and undo its writes.
    /// </summary>
    private async Task<T> RunAsync<T>(FileRequestMessage request, Func<AgentFileChannel, CancellationToken, Task<T>> body, CancellationToken cancellationToken, Action<AgentFileChannel>? prepare = null)
    {
        var (channel, handler) = client.Open(id => new AgentFileChannel(client, id));
        try
        {
            prepare?.Invoke(handler);
            await client.SendJsonAsync(FrameType.FileRequest, channel, request, ProtocolJsonContext.Default.FileRequestMessage, cancellationToken).ConfigureAwait(false);
            return await body(handler, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (!handler.EndedByAgent)
        {
            await TryCancelAsync(channel).ConfigureAwait(false);
            if (FileOperationException.IsFileSystemError(error))
            {
                throw AgentFileErrors.FromHost(error);
            }

            throw;
        }
        finally
        {
            client.Release(channel);
        }
    }

    private async Task TryCancelAsync(uint channel)
    {
        try
        {
            await client.SendAsync(FrameType.FileCancel, channel, ReadOnlyMemory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
            // The connection is gone, and the agent abandons the operation with it.
        }
    }

    private static string ResolveHostSource(string hostPath, bool recurse)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(hostPath));
        var status = HostStatus(full) ?? throw AgentFileErrors.HostNotFound(hostPath);
        var source = status.Kind == FileKind.SymbolicLink
            ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full
            : full;
        if (HostStatus(source) is null)
        {
            throw AgentFileErrors.HostNotFound(hostPath);
        }

        return Directory.Exists(source) && !recurse ? throw AgentFileErrors.RecurseRequired(hostPath) : source;
    }

    private static UnixFileStatus? HostStatus(string path)
    {
        try
        {
            return UnixFileSystem.TryGetStatus(path);
        }
        catch (FileOperationException error)
        {
            throw AgentFileErrors.FromHost(error);
        }
    }

    private static async Task WriteHostTreeAsync(Stream archive, string source, string entryName, CancellationToken cancellationToken)
    {
        try
        {
            await TarTreeWriter.WriteAsync(archive, source, entryName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (FileOperationException.IsFileSystemError(error))
        {
            throw AgentFileErrors.FromHost(error);
        }
    }

    private static async Task<TarExtractResult> ExtractOnHostAsync(Stream archive, ConfinedDirectory destination, TarExtractOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await TarTreeExtractor.ExtractAsync(archive, destination, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (FileOperationException.IsFileSystemError(error))
        {
            throw AgentFileErrors.FromHost(error);
        }
    }

    /// <summary>
    /// Reads what follows the archive's end up to the guest's FileEnd: tar's padding, at most
    /// <see cref="MaxBytesAfterArchive"/>, so a guest cannot keep the copy running with bytes nobody writes.
    /// </summary>
    private static async Task DrainAfterArchiveAsync(Stream archive, CancellationToken cancellationToken)
    {
        var buffer = new byte[CopyBufferBytes];
        long total = 0;
        int read;
        while ((read = await archive.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > MaxBytesAfterArchive)
            {
                throw AgentFileErrors.FromHost(new FileOperationException(
                    FileErrorCodes.InvalidArchive,
                    $"The guest sent more than {MaxBytesAfterArchive / 1024} KiB after the end of its archive."));
            }
        }
    }

    private static void PrepareHostDirectory(string directory, bool create)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        if (!create)
        {
            throw AgentFileErrors.DestinationNotFound(directory, inGuest: false);
        }

        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception error) when (FileOperationException.IsFileSystemError(error))
        {
            throw AgentFileErrors.FromHost(error);
        }
    }

    private static ConfinedDirectory OpenHostDestination(string directory)
    {
        try
        {
            return ConfinedDirectory.Open(directory, Confinement.Beneath);
        }
        catch (FileOperationException error)
        {
            throw AgentFileErrors.FromHost(error);
        }
    }

    private async Task RemovePartialGuestCopyAsync(string target)
    {
        try
        {
            await DeleteAsync(target, recursive: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
            // Nothing was created, or the connection is gone: the copy's own error is what matters.
        }
    }

    /// <summary>Removes what a failed copy created below the destination, never following a link out of it.</summary>
    private static void RemovePartialHostCopy(ConfinedDirectory destination, string name)
    {
        try
        {
            UnixDirectoryCalls.RemoveTree(destination.Handle, name);
        }
        catch (FileOperationException)
        {
            // Best effort: the copy's own error is what matters.
        }
    }

    private static string JoinGuest(string directory, string name) => directory.TrimEnd('/') + "/" + name;

    private static (string Parent, string Name) SplitGuest(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? ("/", trimmed[(slash + 1)..]) : (trimmed[..slash], trimmed[(slash + 1)..]);
    }

    /// <summary>Reports progress at most once per MiB (and once at the end).</summary>
    private sealed class ProgressReporter(IProgress<FileTransferProgress>? progress, long totalBytes)
    {
        private long bytes;
        private long reported;

        public void Add(long bytes)
        {
            this.bytes += bytes;
            if (this.bytes - reported >= ProgressStepBytes)
            {
                reported = this.bytes;
                progress?.Report(new FileTransferProgress(this.bytes, Math.Max(totalBytes, this.bytes)));
            }
        }

        public void Finish() => progress?.Report(new FileTransferProgress(bytes, Math.Max(totalBytes, bytes)));
    }

    /// <summary>Counts what is read through it.</summary>
    private sealed class ProgressStream(Stream inner, ProgressReporter reporter) : DelegatingStream(inner)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            reporter.Add(read);
            return read;
        }

        public override int Read(Span<byte> buffer)
        {
            var read = Inner.Read(buffer);
            reporter.Add(read);
            return read;
        }
    }
}
