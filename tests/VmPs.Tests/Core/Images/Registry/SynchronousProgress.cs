namespace VmPs.Tests.Core.Images.Registry;

/// <summary>Collects progress reports as they happen (Progress&lt;T&gt; would post them to the thread pool later).</summary>
public sealed class SynchronousProgress<T>(List<T> reports) : IProgress<T>
{
    public void Report(T value)
    {
        lock (reports)
        {
            reports.Add(value);
        }
    }
}
