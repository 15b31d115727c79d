namespace VmPs.Tests.Infrastructure;

/// <summary>Waits on a VM's console log (console.log in its directory), which the hypervisor writes whether or not a console session is attached.</summary>
internal static class ConsoleLogs
{
    /// <summary>
    /// The log's text once it shows <paramref name="marker"/> (<paramref name="times"/> times: once per boot of a guest
    /// that prints it at each); fails past <paramref name="deadline"/>, a bound for a slow machine.
    /// </summary>
    public static async Task<string> WaitForAsync(string path, string marker, TimeSpan deadline, int times = 1)
    {
        using var guard = new CancellationTokenSource(deadline);
        while (true)
        {
            var text = File.Exists(path) ? await File.ReadAllTextAsync(path, CancellationToken.None) : "";
            if (Count(text, marker) >= times)
            {
                return text;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), guard.Token);
        }
    }

    /// <summary>How often <paramref name="marker"/> occurs in <paramref name="text"/>.</summary>
    public static int Count(string text, string marker) => text.Split(marker).Length - 1;
}
