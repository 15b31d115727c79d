using System.Globalization;
using System.Text;

namespace VmPs.Core.Boot;

/// <summary>
/// Streams a cpio archive in the "newc" format (the one the Linux kernel unpacks as an initramfs):
/// a 110-byte ASCII header per entry, the NUL-terminated name and the data each padded to 4 bytes,
/// closed by a "TRAILER!!!" entry. Timestamps and owners are zero so equal input gives equal bytes.
/// </summary>
public sealed class CpioWriter
{
    private const string Magic = "070701";
    private const int HeaderLength = 110;
    private const string TrailerName = "TRAILER!!!";

    private const uint TypeDirectory = 0x4000;
    private const uint TypeCharacterDevice = 0x2000;
    private const uint TypeRegularFile = 0x8000;
    private const uint TypeSymlink = 0xA000;

    private readonly Stream output;
    private uint nextInode = 1;
    private bool finished;

    public CpioWriter(Stream output)
    {
        this.output = output;
    }

    public Task AddDirectoryAsync(string path, int permissions, CancellationToken cancellationToken) =>
        WriteEntryAsync(path, TypeDirectory, permissions, nlink: 2, ReadOnlyMemory<byte>.Empty, cancellationToken);

    public Task AddFileAsync(string path, int permissions, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        WriteEntryAsync(path, TypeRegularFile, permissions, nlink: 1, content, cancellationToken);

    /// <summary>Adds a regular file whose content is copied from <paramref name="content"/>, which must yield exactly <paramref name="length"/> bytes.</summary>
    public async Task AddFileAsync(string path, int permissions, Stream content, long length, CancellationToken cancellationToken)
    {
        await WriteHeaderAsync(path, TypeRegularFile | (uint)permissions, nlink: 1, length, 0, 0, cancellationToken).ConfigureAwait(false);
        var copied = await CopyExactlyAsync(content, length, cancellationToken).ConfigureAwait(false);
        if (copied != length)
        {
            throw new InvalidDataException($"cpio entry '{path}': expected {length} bytes, the stream gave {copied}.");
        }

        await WritePaddingAsync(length, cancellationToken).ConfigureAwait(false);
    }

    public Task AddSymlinkAsync(string path, string target, CancellationToken cancellationToken) =>
        WriteEntryAsync(path, TypeSymlink, 0x1FF, nlink: 1, Encoding.UTF8.GetBytes(target), cancellationToken);

    public async Task AddCharacterDeviceAsync(string path, int permissions, uint major, uint minor, CancellationToken cancellationToken)
    {
        await WriteHeaderAsync(path, TypeCharacterDevice | (uint)permissions, nlink: 1, 0, major, minor, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the trailer entry. The archive is incomplete (and unusable) until this is called.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (finished)
        {
            return;
        }

        await WriteHeaderAsync(TrailerName, 0, nlink: 1, 0, 0, 0, cancellationToken, inode: 0).ConfigureAwait(false);
        finished = true;
    }

    private async Task WriteEntryAsync(string path, uint type, int permissions, uint nlink, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await WriteHeaderAsync(path, type | (uint)permissions, nlink, content.Length, 0, 0, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        await WritePaddingAsync(content.Length, cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteHeaderAsync(
        string path,
        uint mode,
        uint nlink,
        long fileSize,
        uint rdevMajor,
        uint rdevMinor,
        CancellationToken cancellationToken,
        uint? inode = null)
    {
        if (finished)
        {
            throw new InvalidOperationException("The cpio archive is already finished.");
        }

        var name = NormalizeName(path);
        if (fileSize > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(fileSize), $"cpio newc entries are limited to 4 GiB: '{name}'.");
        }

        var nameBytes = Encoding.UTF8.GetBytes(name);
        var header = new StringBuilder(HeaderLength)
            .Append(Magic)
            .Append(Hex(inode ?? nextInode++))
            .Append(Hex(mode))
            .Append(Hex(0)) // uid
            .Append(Hex(0)) // gid
            .Append(Hex(nlink))
            .Append(Hex(0)) // mtime
            .Append(Hex((uint)fileSize))
            .Append(Hex(0)) // devmajor
            .Append(Hex(0)) // devminor
            .Append(Hex(rdevMajor))
            .Append(Hex(rdevMinor))
            .Append(Hex((uint)nameBytes.Length + 1))
            .Append(Hex(0)) // check
            .ToString();

        await output.WriteAsync(Encoding.ASCII.GetBytes(header), cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(nameBytes, cancellationToken).ConfigureAwait(false);
        // The name's terminating NUL plus padding so the data starts on a 4-byte boundary.
        await WriteZerosAsync(1 + PaddingFor(HeaderLength + nameBytes.Length + 1), cancellationToken).ConfigureAwait(false);
    }

    private Task WritePaddingAsync(long dataLength, CancellationToken cancellationToken) =>
        WriteZerosAsync(PaddingFor(dataLength), cancellationToken);

    private async Task WriteZerosAsync(int count, CancellationToken cancellationToken)
    {
        if (count > 0)
        {
            await output.WriteAsync(new byte[count], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<long> CopyExactlyAsync(Stream source, long length, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        long copied = 0;
        while (copied < length)
        {
            var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - copied)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            copied += read;
        }

        return copied;
    }

    private static int PaddingFor(long length) => (int)((4 - (length % 4)) % 4);

    private static string Hex(uint value) => value.ToString("X8", CultureInfo.InvariantCulture);

    /// <summary>Archive names are relative ("init", "dev/console"), as the kernel and the cpio tool expect.</summary>
    private static string NormalizeName(string path)
    {
        var name = path.TrimStart('/');
        if (name.Length == 0 || name.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new ArgumentException($"Invalid cpio entry name '{path}'.", nameof(path));
        }

        return name;
    }
}
