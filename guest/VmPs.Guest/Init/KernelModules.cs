using VmPs.Guest.Native;

namespace VmPs.Guest.Init;

/// <summary>
/// Loads the modules the initrd carries: /vmps/modules/&lt;file&gt;.ko, in the order listed (one file name
/// per line) in /vmps/modules/order. A kernel that has them built in simply has no order file.
/// </summary>
internal static class KernelModules
{
    public const string Directory = "/vmps/modules";

    public static void LoadAll()
    {
        var order = Path.Combine(Directory, "order");
        if (!File.Exists(order))
        {
            return;
        }

        foreach (var name in File.ReadLines(order).Select(line => line.Trim()).Where(line => line.Length > 0))
        {
            var result = NativeMethods.LoadModule(Path.Combine(Directory, name));
            // EEXIST: built in or already loaded. ENODEV: hardware-specific (e.g. crc32c-intel on a CPU without SSE4.2).
            if (result < 0 && -result is not (Libc.EEXIST or Libc.ENODEV))
            {
                // Not fatal by itself: a missing driver shows up as a missing disk or port, with a clearer message.
                BootConsole.WriteLine($"[vmps] warning: module {name}: {Libc.ErrorText(-result)}");
            }
        }
    }
}
