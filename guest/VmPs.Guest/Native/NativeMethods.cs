using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace VmPs.Guest.Native;

/// <summary>Bindings to native/vmps_native.c, linked into the binary as a static archive.</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>Mirrors vmps_spawn_args.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SpawnArgs
    {
        public byte* Path;
        public byte** Argv;
        public byte** Envp;
        public byte* Cwd;
        public int StdinFd;
        public int StdoutFd;
        public int StderrFd;
        public int NewSession;
        public int ControllingTty;
        public int SetIds;
        public uint Uid;
        public uint Gid;
        public int GroupCount;
        public uint* Groups;
    }

    /// <summary>The child step that failed (vmps_native.h VMPS_STEP_*).</summary>
    public enum SpawnStep
    {
        SetSession = 1,
        RedirectFds = 2,
        SetGroups = 3,
        SetGid = 4,
        SetUid = 5,
        ChangeDirectory = 6,
        Exec = 7,
        ControllingTerminal = 8,
    }

    [LibraryImport("vmpsnative", EntryPoint = "vmps_spawn")]
    public static partial int Spawn(SpawnArgs* args, out int failedStep);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_vsock_listen")]
    public static partial int VsockListen(uint port);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_accept")]
    public static partial int Accept(int listenFd);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_link_up", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkUp(string name);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_open_pty")]
    public static partial int OpenPty(ushort columns, ushort rows, out int masterFd, out int slaveFd);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_set_window_size")]
    public static partial int SetWindowSize(SafeFileHandle terminal, ushort columns, ushort rows);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_set_realtime")]
    public static partial int SetRealtime(long seconds, long nanoseconds);
    /// <summary>Addresses in network byte order; returns 0 or -errno.</summary>
    [LibraryImport("vmpsnative", EntryPoint = "vmps_set_ipv4", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetIpv4(string name, uint address, uint netmask, int mtu);

    /// <summary>Replaces the default routes with one through <paramref name="gateway"/> (network byte order; 0: none).</summary>
    [LibraryImport("vmpsnative", EntryPoint = "vmps_set_default_route", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetDefaultRoute(string name, uint gateway);

    /// <summary>Sets the interface's 6-byte hardware address; returns 0 or -errno.</summary>
    [LibraryImport("vmpsnative", EntryPoint = "vmps_set_mac", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetMac(string name, byte* mac);

    /// <summary>Adds the bytes to the kernel's entropy pool, credited, and reseeds the CRNG; returns 0 or -errno.</summary>
    [LibraryImport("vmpsnative", EntryPoint = "vmps_reseed_random")]
    public static partial int ReseedRandom(byte* bytes, int length);

    /// <summary>The step of <see cref="ListenIsolated"/> that failed (vmps_native.h VMPS_ISOLATED_*).</summary>
    public enum IsolatedListenerStep
    {
        Namespace = 1,
        Veth = 2,
        Address = 3,
        Listen = 4,
        LinkAddress = 5,
    }

    /// <summary>
    /// A TCP listener on <paramref name="peerAddress"/>:<paramref name="port"/> in a network namespace of its own,
    /// reached over the veth pair <paramref name="link"/> (here) / <paramref name="peer"/> (there); addresses in
    /// network byte order. Returns the socket or -errno with <paramref name="failedStep"/>.
    /// </summary>
    [LibraryImport("vmpsnative", EntryPoint = "vmps_listen_isolated", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ListenIsolated(string link, string peer, uint linkAddress, uint peerAddress, uint netmask, ushort port, out IsolatedListenerStep failedStep);

    [LibraryImport("vmpsnative", EntryPoint = "vmps_load_module")]
    public static partial int LoadModule(SafeFileHandle module);
}
