using System.Diagnostics;
using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

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

    private readonly AgentClient _client;

    public AgentFileClient(AgentClient client)
    {
        _client = client;
    }

    /// <summary>The entry at <paramref name="path"/> (a link itself, not its target); GuestFileNotFound when missing.</summary>
    public async Task<GuestFileInfo> StatAsync(string path, CancellationToken cancellationToken)
    {
        var result = await RunAsync(Request(FileOperation.Stat, path), (channel, _) => channel.Result, cancellationToken).ConfigureAwait(false);
        return GuestFileInfo.From(result.Info ?? throw AgentErrors.ProtocolError("A stat result carried no file information."));
    }

    /// <summary>Like <see cref="StatAsync"/>, but null when nothing is at <paramref name="path"/>.</summary>
    public async Task<GuestFileInfo?> TryStatAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await StatAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException error) when (error.ErrorId == "GuestFileNotFound")
        {
            return null;
        }
    }

    /// <summary>The entries of a directory, in ordinal name order.</summary>
    public Task<IReadOnlyList<GuestFileInfo>> ListAsync(string path, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.List, path), async (channel, token) =>
        {
            await channel.Result.WaitAsync(token).ConfigureAwait(false);
            return (IReadOnlyList<GuestFileInfo>)channel.Entries.Select(GuestFileInfo.From).ToList();
        }, cancellationToken);

    /// <summary>Deletes a file or link, an empty directory, or with <paramref name="recursive"/> a whole tree.</summary>
    public Task DeleteAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.Delete, path) with { Recursive = recursive }, (channel, _) => channel.Result, cancellationToken);

    /// <summary>Streams a guest file's content into <paramref name="destination"/>; returns the file's information.</summary>
    public Task<GuestFileInfo> ReadAsync(string path, Stream destination, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken) =>
        RunAsync(Request(FileOperation.Read, path), async (channel, token) =>
        {
            var content = channel.Receiver!;
            var ready = await channel.Ready.WaitAsync(token).ConfigureAwait(false);
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
            await channel.Ready.WaitAsync(token).ConfigureAwait(false);
            await source.CopyToAsync(channel.Sender!, CopyBufferBytes, token).ConfigureAwait(false);
            await channel.Sender!.CompleteAsync(token).ConfigureAwait(false);
            var result = await channel.Result.WaitAsync(token).ConfigureAwait(false);
            reporter.Finish();
            return GuestFileInfo.From(result.Info!);
        }, cancellationToken, prepare: channel => channel.Send(reporter.Add));
    }

    /// <summary>
    /// Copies a host file or (with <paramref name="recurse"/>) directory tree into the guest, as cp does: into
    /// <paramref name="guestPath"/> when that is a directory (or ends with /), else as <paramref name="guestPath"/>.
    /// Modes, times and symbolic links are kept, owners too when this process is root. An existing destination
    /// fails with GuestFileExists unless <paramref name="overwrite"/>; a copy that fails removes what it created.
    /// </summary>
    public async Task<GuestFileCopyResult> CopyToGuestAsync(string hostPath, string guestPath, bool recurse, bool overwrite, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequireAbsolute(guestPath);
        var source = ResolveHostSource(hostPath, recurse);
        var destination = await TryStatAsync(guestPath, cancellationToken).ConfigureAwait(false);
        var target = destination?.Type == FileKind.Directory || guestPath.EndsWith('/')
            ? JoinGuest(guestPath, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(hostPath))))
            : guestPath;
        var existing = target == guestPath ? destination : await TryStatAsync(target, cancellationToken).ConfigureAwait(false);
        if (existing is not null && !overwrite)
        {
            throw AgentFileErrors.GuestExists(target);
        }

        var (parent, entryName) = SplitGuest(target);
        try
        {
            var result = await ExtractAsync(
                parent,
                overwrite,
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
    /// with its parents). Entries that would land outside it (absolute, "..", through or as a symbolic link
    /// pointing out) fail with GuestPathEscape. Existing files fail with GuestFileExists unless <paramref name="overwrite"/>.
    /// </summary>
    public async Task<GuestFileCopyResult> ExtractArchiveAsync(Stream archive, string guestDirectory, bool overwrite, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var total = archive.CanSeek ? archive.Length - archive.Position : 0;
        var result = await ExtractAsync(
            guestDirectory,
            overwrite,
            (sender, token) => archive.CopyToAsync(sender, CopyBufferBytes, token),
            new ProgressReporter(progress, total),
            cancellationToken).ConfigureAwait(false);
        return new GuestFileCopyResult("(archive)", guestDirectory, result.Files, result.Bytes, clock.Elapsed);
    }

    /// <summary>
    /// Copies a guest file or (with <paramref name="recurse"/>) directory tree to the host, as cp does: into
    /// <paramref name="hostPath"/> when that is a directory (or ends with /), else as <paramref name="hostPath"/>.
    /// The guest's tar stream is checked like any untrusted archive (PathEscape for entries that would leave the
    /// destination). Owners are kept when this process is root. A copy that fails removes what it created.
    /// </summary>
    public async Task<GuestFileCopyResult> CopyFromGuestAsync(string guestPath, string hostPath, bool recurse, bool overwrite, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequireAbsolute(guestPath);
        var info = await StatAsync(guestPath, cancellationToken).ConfigureAwait(false);
        if (info.Type == FileKind.Directory && !recurse)
        {
            throw AgentFileErrors.RecurseRequired(guestPath);
        }

        var fullHostPath = Path.GetFullPath(hostPath);
        var target = Directory.Exists(fullHostPath) || hostPath.EndsWith('/')
            ? Path.Combine(fullHostPath, info.Name)
            : Path.TrimEndingDirectorySeparator(fullHostPath);
        var existing = HostStatus(target);
        if (existing is not null && !overwrite)
        {
            throw AgentFileErrors.HostExists(target);
        }

        var request = Request(FileOperation.Archive, guestPath) with { Recursive = recurse, EntryName = Path.GetFileName(target) };
        try
        {
            var result = await RunAsync(request, async (channel, token) =>
            {
                var archive = channel.Receiver!;
                var ready = await channel.Ready.WaitAsync(token).ConfigureAwait(false);
                var reporter = new ProgressReporter(progress, ready.TotalBytes);
                var extracted = await ExtractOnHostAsync(new ProgressStream(archive, reporter), Path.GetDirectoryName(target)!, overwrite, token).ConfigureAwait(false);
                await archive.CopyToAsync(Stream.Null, token).ConfigureAwait(false);
                reporter.Finish();
                return extracted;
            }, cancellationToken, prepare: channel => channel.Receive()).ConfigureAwait(false);
            return new GuestFileCopyResult(guestPath, target, result.Entries, result.Bytes, clock.Elapsed);
        }
        catch when (existing is null)
        {
            RemovePartialHostCopy(target);
            throw;
        }
    }

    private Task<FileResultMessage> ExtractAsync(string guestDirectory, bool overwrite, Func<Stream, CancellationToken, Task> writeArchive, ProgressReporter reporter, CancellationToken cancellationToken)
    {
        var request = Request(FileOperation.Extract, guestDirectory) with { Overwrite = overwrite, PreserveOwnership = Environment.IsPrivilegedProcess };
        return RunAsync(request, async (channel, token) =>
        {
            await channel.Ready.WaitAsync(token).ConfigureAwait(false);
            await writeArchive(channel.Sender!, token).ConfigureAwait(false);
            await channel.Sender!.CompleteAsync(token).ConfigureAwait(false);
            var result = await channel.Result.WaitAsync(token).ConfigureAwait(false);
            reporter.Finish();
            return result;
        }, cancellationToken, prepare: channel => channel.Send(reporter.Add));
    }

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
        var (channel, handler) = _client.Open(id => new AgentFileChannel(_client, id));
        try
        {
            prepare?.Invoke(handler);
            await _client.SendJsonAsync(FrameType.FileRequest, channel, request, ProtocolJsonContext.Default.FileRequestMessage, cancellationToken).ConfigureAwait(false);
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
            _client.Release(channel);
        }
    }

    private async Task TryCancelAsync(uint channel)
    {
        try
        {
            await _client.SendAsync(FrameType.FileCancel, channel, ReadOnlyMemory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
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

    private static async Task<TarExtractResult> ExtractOnHostAsync(Stream archive, string directory, bool overwrite, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(directory);
            return await TarTreeExtractor.ExtractAsync(archive, directory, new TarExtractOptions(overwrite, Environment.IsPrivilegedProcess), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (FileOperationException.IsFileSystemError(error))
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

    private static void RemovePartialHostCopy(string target)
    {
        try
        {
            if (Directory.Exists(target) && HostStatus(target)?.Kind == FileKind.Directory)
            {
                Directory.Delete(target, recursive: true);
            }
            else
            {
                File.Delete(target);
            }
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or VmPsException)
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
        private long _bytes;
        private long _reported;

        public void Add(long bytes)
        {
            _bytes += bytes;
            if (_bytes - _reported >= ProgressStepBytes)
            {
                _reported = _bytes;
                progress?.Report(new FileTransferProgress(_bytes, Math.Max(totalBytes, _bytes)));
            }
        }

        public void Finish() => progress?.Report(new FileTransferProgress(_bytes, Math.Max(totalBytes, _bytes)));
    }

    /// <summary>Counts what is read through it.</summary>
    private sealed class ProgressStream(Stream inner, ProgressReporter reporter) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            reporter.Add(read);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            reporter.Add(read);
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
