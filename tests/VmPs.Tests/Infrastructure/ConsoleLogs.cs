namespace VmPs.Tests.Infrastructure;

/// <summary>Waits on a VM's console log (console.log in its directory), which the hypervisor writes whether or not a console session is attached.</summary>
internal static class ConsoleLogs
{
    /// <summary>The log's text once it shows <paramref name="marker"/>; fails past <paramref name="deadline"/>, a bound for a slow machine.</summary>
    public static async Task<string> WaitForAsync(string path, string marker, TimeSpan deadline)
    {
        using var guard = new CancellationTokenSource(deadline);
        while (true)
        {
            var text = File.Exists(path) ? await File.ReadAllTextAsync(path, CancellationToken.None) : "";
            if (text.Contains(marker, StringComparison.Ordinal))
            {
                return text;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), guard.Token);
        }
    }
}
