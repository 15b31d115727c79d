using System.Formats.Tar;
using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// A hostile agent's file answers: Stat and Archive (what Copy-VmFile -FromVm asks), List and Read, each as a
/// hostile guest could shape them. Unset answers are what the real agent would send for a plain file.
/// </summary>
internal sealed class HostileFileScript : HostileScript
{
    /// <summary>The Stat reply (and the archive's FileReady info).</summary>
    public FileInfoMessage Stat { get; init; } = PlainFile("file.txt");

    /// <summary>Raw payload of the Stat reply instead of <see cref="Stat"/> (malformed JSON, for example).</summary>
    public byte[]? RawStatReply { get; init; }

    /// <summary>The tar stream for an Archive request, given the request (whose EntryName the real agent would use).</summary>
    public Func<FileRequestMessage, byte[]> Archive { get; init; } = request => Tar(Entry(TarEntryType.RegularFile, request.EntryName!, "content"));

    /// <summary>Send archive content beyond the host's credit window.</summary>
    public bool IgnoreCredit { get; init; }

    /// <summary>Bytes sent after the archive, before FileEnd.</summary>
    public long TrailingBytes { get; init; }

    /// <summary>Answer the Archive request with a FileResult instead of FileReady and content.</summary>
    public bool ResultInsteadOfReady { get; init; }

    /// <summary>List replies: entries per batch and batches.</summary>
    public Func<int, IReadOnlyList<FileInfoMessage>>? ListBatch { get; init; }

    public int ListBatches { get; init; }

    /// <summary>Never answer a request of this operation.</summary>
    public FileOperation? SilentOn { get; init; }

    public static FileInfoMessage PlainFile(string name, string? path = null) =>
        new(name, path ?? "/srv/" + name, FileKind.File, 7, 0x1A4, 0, 0, FileTrees.FixedTime);

    public static FileInfoMessage PlainDirectory(string name) =>
        new(name, "/srv/" + name, FileKind.Directory, 0, 0x1ED, 0, 0, FileTrees.FixedTime);

    public static PaxTarEntry Entry(TarEntryType type, string name, string? content = null, string? link = null, string octalMode = "644")
    {
        var entry = new PaxTarEntry(type, name) { Mode = (UnixFileMode)Convert.ToInt32(octalMode, 8), ModificationTime = FileTrees.FixedTime };
        if (content is not null)
        {
            entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content));
        }

        if (link is not null)
        {
            entry.LinkName = link;
        }

        return entry;
    }

    public static byte[] Tar(params TarEntry[] entries) => FileTrees.Tar(entries).ToArray();

    public override async Task OnFileRequestAsync(HostileSession session, uint channel, FileRequestMessage request)
    {
        if (request.Operation == SilentOn)
        {
            return;
        }

        switch (request.Operation)
        {
            case FileOperation.Stat when RawStatReply is not null:
                await session.SendAsync(FrameType.FileResult, channel, RawStatReply);
                break;
            case FileOperation.Stat:
                await session.SendResultAsync(channel, new FileResultMessage(Stat));
                break;
            case FileOperation.Archive when ResultInsteadOfReady:
                await session.SendResultAsync(channel, new FileResultMessage(Stat, 1, 7));
                break;
            case FileOperation.Archive:
                var archive = new MemoryStream();
                archive.Write(Archive(request));
                archive.Write(new byte[TrailingBytes]);
                archive.Position = 0;
                await session.SendArchiveAsync(channel, Stat, archive, IgnoreCredit);
                break;
            case FileOperation.List:
                for (var batch = 0; batch < ListBatches; batch++)
                {
                    await session.SendJsonAsync(FrameType.FileEntries, channel, new FileEntriesMessage(ListBatch!(batch)), ProtocolJsonContext.Default.FileEntriesMessage);
                }

                await session.SendResultAsync(channel, new FileResultMessage());
                break;
            case FileOperation.Read:
                await session.SendJsonAsync(FrameType.FileReady, channel, new FileReadyMessage(Stat, Stat.Size), ProtocolJsonContext.Default.FileReadyMessage);
                await session.SendContentAsync(FrameType.FileData, channel, new MemoryStream(new byte[2 * FileTransferWindow.Bytes]), FileTransferWindow.Bytes, IgnoreCredit);
                await session.SendAsync(FrameType.FileEnd, channel, ReadOnlyMemory<byte>.Empty);
                break;
            default:
                await session.SendErrorAsync(channel, ErrorCodes.Unsupported, "not scripted");
                break;
        }
    }
}
