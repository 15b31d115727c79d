using System.Buffers.Binary;

namespace VmPs.Guest.Init;

/// <summary>
/// Turns an ACPI power button press (QEMU system_powerdown, Cloud Hypervisor vm.power-button) into a
/// clean shutdown. There is no acpid in the guest, so the init reads the button's evdev node itself.
/// Needs the kernel's button and evdev drivers; without them a press is ignored.
/// </summary>
internal static class PowerButton
{
    private const int EventSize = 24;
    private const ushort KeyEvent = 1;
    private const ushort KeyPower = 116;

    public static void Watch(Action onPress)
    {
        const string inputs = "/sys/class/input";
        if (!Directory.Exists(inputs))
        {
            return;
        }

        foreach (var input in Directory.EnumerateDirectories(inputs, "event*"))
        {
            var nameFile = Path.Combine(input, "device", "name");
            var device = "/dev/input/" + Path.GetFileName(input);
            if (File.Exists(nameFile) && File.ReadAllText(nameFile).Contains("Power Button", StringComparison.Ordinal) && File.Exists(device))
            {
                // Opened here, not on the thread: the init may switch root (moving /dev) right after this returns.
                var events = Open(device);
                if (events is not null)
                {
                    new Thread(() => WaitForPress(device, events, onPress)) { IsBackground = true, Name = "power-button" }.Start();
                }
            }
        }
    }

    private static FileStream? Open(string device)
    {
        try
        {
            return new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Warn(device, error);
            return null;
        }
    }

    private static void WaitForPress(string device, FileStream events, Action onPress)
    {
        try
        {
            using (events)
            {
                var record = new byte[EventSize];
                while (true)
                {
                    events.ReadExactly(record);
                    var type = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(16));
                    var code = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(18));
                    var value = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(20));
                    if (type == KeyEvent && code == KeyPower && value == 1)
                    {
                        onPress();
                    }
                }
            }
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Warn(device, error);
        }
    }

    private static void Warn(string device, Exception error) => BootConsole.WriteLine($"[vmps] warning: power button {device}: {error.Message}");
}
