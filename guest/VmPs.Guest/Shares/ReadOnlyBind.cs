using System.Runtime.InteropServices;
using VmPs.Guest.Native;

namespace VmPs.Guest.Shares;

/// <summary>
/// On the host, for a read-only host directory share (VmPs.Core's VirtioFsDaemons): in a mount namespace of its own,
/// binds the directory onto itself read-only and execs virtiofsd there, so the host's kernel refuses every write the
/// guest sends (EROFS). The bind is not recursive: mounts below the directory are not shared. The namespace goes with
/// the process, so nothing is ever left mounted on the host.
/// </summary>
internal static unsafe class ReadOnlyBind
{
    public const string Usage = "vmps-guest bind-readonly DIRECTORY -- PROGRAM [ARGUMENT...]";

    private const int CLONE_NEWNS = 0x20000;
    private const ulong MS_REMOUNT = 32;
    private const ulong MS_BIND = 4096;
    private const ulong MS_REC = 16384;
    private const ulong MS_PRIVATE = 1 << 18;

    /// <summary>Execs the program; returns only on failure (1), or null when the arguments are not this command's.</summary>
    public static int? Run(string[] args)
    {
        if (args is not ["bind-readonly", var directory, "--", var program, ..])
        {
            return null;
        }

        // unshare(CLONE_NEWNS) is per thread in a multithreaded process (it implies CLONE_FS, which copies the calling
        // thread's fs state); execv from this same thread keeps the new namespace for the program.
        if (!Step(Libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
            || !Step(Libc.mount(null, "/", null, MS_REC | MS_PRIVATE, null), "making the mounts private")
            || !Step(Libc.mount(directory, directory, null, MS_BIND, null), $"binding '{directory}'")
            || !Step(Libc.mount(null, directory, null, MS_BIND | MS_REMOUNT | Libc.MS_RDONLY, null), $"making '{directory}' read-only"))
        {
            return 1;
        }

        var arguments = args[3..];
        var pointers = new nint[arguments.Length];
        for (var index = 0; index < arguments.Length; index++)
        {
            pointers[index] = Marshal.StringToCoTaskMemUTF8(arguments[index]);
        }

        var argv = stackalloc byte*[arguments.Length + 1];
        for (var index = 0; index < arguments.Length; index++)
        {
            argv[index] = (byte*)pointers[index];
        }

        argv[arguments.Length] = null;
        Libc.execv(program, argv);
        Console.Error.WriteLine($"bind-readonly: cannot start '{program}': {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        return 1;
    }

    private static bool Step(int result, string what)
    {
        if (result == 0)
        {
            return true;
        }

        Console.Error.WriteLine($"bind-readonly: {what} failed: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        return false;
    }
}
