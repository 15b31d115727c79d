using System.Net;
using System.Text;

namespace VmPs.Guest.Network;

/// <summary>Writes /etc/resolv.conf and /etc/hosts for the VmPs network, replacing the image's (a symlink, as systemd images have, is replaced by a file).</summary>
internal static class NameResolution
{
    private const string ResolvConf = "/etc/resolv.conf";
    private const string Hosts = "/etc/hosts";

    public static void WriteResolvConf(IReadOnlyList<IPAddress> servers)
    {
        var text = new StringBuilder("# Written by VmPs from the VM's network.\n");
        foreach (var server in servers)
        {
            text.Append("nameserver ").Append(server).Append('\n');
        }

        Replace(ResolvConf, text.ToString());
    }

    public static void WriteHosts(string address, IReadOnlyList<string> names) =>
        Replace(
            Hosts,
            $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address}\t{string.Join(' ', names)}\n");

    private static void Replace(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var staging = path + ".vmps-new";
        File.WriteAllText(staging, content);
        // rename(2) replaces a symlink itself rather than the file it points to.
        File.Move(staging, path, overwrite: true);
    }
}
