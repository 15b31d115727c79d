using System.Diagnostics;
using System.Globalization;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Turns an operation's progress reports into -Verbose lines: each step once it ends, with the time it took, then
/// the whole operation's time. A step is a report's <see cref="VmProgress.Step"/> (its status when it has none), so
/// reports that only move a byte count within a step do not make lines.
/// </summary>
internal sealed class StepTimer(string activity)
{
    private readonly Stopwatch total = Stopwatch.StartNew();
    private string? step;
    private TimeSpan stepStarted;

    /// <summary>The line for the step that just ended, when <paramref name="update"/> begins another.</summary>
    public string? Next(VmProgress update)
    {
        var name = update.Step ?? update.Status;
        if (name == step)
        {
            return null;
        }

        var ended = EndStep();
        step = name;
        stepStarted = total.Elapsed;
        return ended;
    }

    /// <summary>The last step's line and the total.</summary>
    public IEnumerable<string> Finish()
    {
        if (EndStep() is { } last)
        {
            yield return last;
        }

        yield return $"{activity}: done in {Seconds(total.Elapsed)}";
    }

    private string? EndStep() => step is null ? null : $"{activity}: {step} ({Seconds(total.Elapsed - stepStarted)})";

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.000 s", CultureInfo.InvariantCulture);
}
