using System.Runtime.InteropServices;
using System.Text.Json;
using VmPs.Guest.Native;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Metadata;
using VmPs.Protocol.Systemd;

namespace VmPs.Guest.Init;

/// <summary>
/// Systemd mode, once the root is switched: installs the agent as a systemd service in the VM's root (its
/// overlay, so the image is untouched) and replaces this process with the image's /sbin/init, so systemd is PID 1.
/// </summary>
internal static class SystemdHandover
{
    private const string SystemInit = "/sbin/init";

    private const int Executable = 0x1ED; // 0755
    private const int Regular = 0x1A4; // 0644
    private const int Private = 0x180; // 0600

    /// <summary>The agent, its unit and the shutdown hook; the instance metadata too, which the agent then serves (0600: user data may hold secrets).</summary>
    public static void InstallAgent(AgentChannelConfig channel, InstanceMetadata? metadata)
    {
        if (!File.Exists(SystemInit))
        {
            throw new InitException($"Systemd mode needs {SystemInit} in the image (Debian: the systemd-sysv package); use -InitMode Exec for this image.");
        }

        // This binary's file was in the initramfs and is deleted by now; its inode stays readable through /proc.
        WriteFile(SystemdAgentUnit.AgentPath, destination => File.Copy("/proc/self/exe", destination, overwrite: true), Executable);
        var metadataPath = metadata is null ? null : SystemdAgentUnit.MetadataPath;
        if (metadata is not null)
        {
            WriteFile(SystemdAgentUnit.MetadataPath, destination => File.WriteAllBytes(destination, JsonSerializer.SerializeToUtf8Bytes(metadata, ProtocolJsonContext.Default.InstanceMetadata)), Private);
        }

        WriteFile(SystemdAgentUnit.UnitPath, destination => File.WriteAllText(destination, SystemdAgentUnit.Render(channel, SystemdAgentUnit.AgentPath, metadataPath)), Regular);
        WriteFile(SystemdAgentUnit.ShutdownHookPath, destination => File.WriteAllText(destination, SystemdAgentUnit.ShutdownHook()), Executable);
        Directory.CreateDirectory(Path.GetDirectoryName(SystemdAgentUnit.WantsLinkPath)!);
        File.Delete(SystemdAgentUnit.WantsLinkPath);
        File.CreateSymbolicLink(SystemdAgentUnit.WantsLinkPath, SystemdAgentUnit.UnitPath);
    }

    /// <summary>
    /// The runtime mount units of the volumes (a raw one is linked, not mounted) and shares the init has mounted:
    /// systemd, started after them, loads these units for the mounts it finds in place.
    /// </summary>
    public static void InstallMountUnits(GuestConfig config, IReadOnlyDictionary<string, string> disks)
    {
        foreach (var volume in config.Volumes.Where(volume => volume.Filesystem is not null))
        {
            SystemdMountUnits.Install(SystemdMountUnit.ForVolume(volume, disks[volume.Serial]), volume.Path);
        }

        foreach (var share in config.Shares)
        {
            SystemdMountUnits.Install(SystemdMountUnit.ForShare(share), share.Path);
        }
    }

    /// <summary>Execs the image's init in place of this process (keeping PID 1 and the console on fds 0-2); returns only on failure.</summary>
    public static unsafe void ExecSystemInit()
    {
        var argv0 = Marshal.StringToCoTaskMemUTF8(SystemInit);
        var argv = stackalloc byte*[] { (byte*)argv0, null };
        Libc.execv(SystemInit, argv);
        var error = Marshal.GetLastPInvokeError();
        Marshal.FreeCoTaskMem(argv0);
        throw new InitException($"Starting {SystemInit} failed: {Libc.ErrorText(error)}");
    }

    private static void WriteFile(string path, Action<string> write, int mode)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        write(path);
        SystemCalls.Check(Libc.chmod(path, mode), $"chmod {path}");
    }
}
