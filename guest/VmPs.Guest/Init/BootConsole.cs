using System.Text;
using VmPs.Guest.Native;

namespace VmPs.Guest.Init;

/// <summary>Writes whole lines to the kernel console (the init's stdout) with one write each, so they never interleave.</summary>
internal static unsafe class BootConsole
{
    public static void WriteLine(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* start = bytes)
        {
            var offset = 0;
            while (offset < bytes.Length)
            {
                var written = Libc.write(1, start + offset, bytes.Length - offset);
                if (written <= 0)
                {
                    return;
                }

                offset += (int)written;
            }
        }
    }
}
