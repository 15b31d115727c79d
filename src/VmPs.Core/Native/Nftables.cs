using System.Runtime.InteropServices;

namespace VmPs.Core.Native;

/// <summary>libnftables (Debian's libnftables1): nft commands run inside this process.</summary>
internal static partial class Nftables
{
    public const string Library = "libnftables.so.1";

    [LibraryImport(Library)]
    public static partial nint nft_ctx_new(uint flags);

    [LibraryImport(Library)]
    public static partial void nft_ctx_free(nint context);

    [LibraryImport(Library)]
    public static partial int nft_ctx_buffer_output(nint context);

    [LibraryImport(Library)]
    public static partial int nft_ctx_buffer_error(nint context);

    [LibraryImport(Library)]
    public static partial nint nft_ctx_get_output_buffer(nint context);

    [LibraryImport(Library)]
    public static partial nint nft_ctx_get_error_buffer(nint context);

    [LibraryImport(Library)]
    public static partial void nft_ctx_output_set_flags(nint context, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int nft_run_cmd_from_buffer(nint context, string commands);
}
