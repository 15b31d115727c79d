using System.Globalization;
using VmPs.Core.State;

namespace VmPs.Core.Processes;

/// <summary>
/// A process's identity (PID and start time) in a file beside what it serves, written by the launcher the moment the
/// process exists: a session killed before it records the process in the state database leaves this file, by which a
/// later session finds and ends the orphan instead of it holding the VM's disks and sockets.
/// </summary>
internal static class PidFile
{
    /// <summary>"PID STARTTIME\n" is at most 42 bytes; anything longer is not a pid file VmPs wrote.</summary>
    private const int MaxLength = 64;

    /// <summary>Written beside the target and renamed, 0600, so a reader never sees half a file.</summary>
    public static void Write(string path, ProcessIdentity identity)
    {
        var staging = path + ".new";
        File.Delete(staging);
        using (var file = PrivateFiles.Open(staging, FileMode.CreateNew, FileAccess.Write))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{identity.Pid} {identity.StartTime}\n")));
        }

        File.Move(staging, path, overwrite: true);
    }

    /// <summary>The identity recorded in <paramref name="path"/>; null when there is no file or it is not one VmPs wrote.</summary>
    public static ProcessIdentity? Read(string path)
    {
        string text;
        try
        {
            using var file = File.OpenRead(path);
            var buffer = new byte[MaxLength + 1];
            var length = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (length > MaxLength)
            {
                return null;
            }

            text = System.Text.Encoding.ASCII.GetString(buffer, 0, length);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        var fields = text.TrimEnd('\n').Split(' ');
        return fields.Length == 2
            && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            && ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime) && startTime > 0
                ? new ProcessIdentity(pid, startTime)
                : null;
    }
}
