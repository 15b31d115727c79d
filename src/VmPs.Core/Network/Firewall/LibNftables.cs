using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Network.Firewall;

/// <summary>What one libnftables run printed, and whether it succeeded.</summary>
internal sealed record NftRunResult(bool Succeeded, string Output, string Error);

/// <summary>
/// A libnftables context: commands in nft syntax are parsed and committed over netlink inside this
/// process, with no `nft` process per change. The context keeps its copy of the ruleset between
/// runs and refetches it only when the kernel's ruleset generation has moved on. Its netlink socket
/// belongs to the network namespace of the thread that creates and runs it, so callers keep both
/// on the namespace's thread.
/// </summary>
internal sealed class LibNftables : SafeHandle
{
    private const string Library = "libnftables.so.1";
    private const uint JsonOutput = 1 << 4;

    // libnftables keeps process-wide state (its parser and symbol tables) that is not documented
    // as thread-safe, and VmPs may drive several namespaces from several threads.
    private static readonly object Gate = new();

    private static readonly Lazy<bool> Loadable = new(() =>
    {
        if (!NativeLibrary.TryLoad(Library, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    });

    private LibNftables()
        : base(0, ownsHandle: true)
    {
    }

    /// <summary>libnftables (Debian/Ubuntu package libnftables1, installed with nftables) can be loaded.</summary>
    public static bool IsAvailable => Loadable.Value;

    public override bool IsInvalid => handle == 0;

    /// <summary>A new context with its output and errors captured.</summary>
    public static LibNftables Create()
    {
        lock (Gate)
        {
            var context = new LibNftables();
            context.SetHandle(Nftables.nft_ctx_new(0));
            if (context.IsInvalid)
            {
                throw new VmPsException(VmPsErrorIds.FirewallRulesFailed, VmPsErrorKind.ResourceUnavailable, "libnftables could not create a context.", Library);
            }

            _ = Nftables.nft_ctx_buffer_output(context.handle);
            _ = Nftables.nft_ctx_buffer_error(context.handle);
            return context;
        }
    }

    /// <summary>Runs <paramref name="commands"/> as one transaction, as `nft -f` would; output as JSON when asked.</summary>
    public NftRunResult Run(string commands, bool json)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            Nftables.nft_ctx_output_set_flags(handle, json ? JsonOutput : 0);
            var status = Nftables.nft_run_cmd_from_buffer(handle, commands);
            return new NftRunResult(
                status == 0,
                Marshal.PtrToStringUTF8(Nftables.nft_ctx_get_output_buffer(handle)) ?? string.Empty,
                Marshal.PtrToStringUTF8(Nftables.nft_ctx_get_error_buffer(handle)) ?? string.Empty);
        }
    }

    protected override bool ReleaseHandle()
    {
        lock (Gate)
        {
            Nftables.nft_ctx_free(handle);
            return true;
        }
    }
}
