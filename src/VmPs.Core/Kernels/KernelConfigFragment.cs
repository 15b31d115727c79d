using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace VmPs.Core.Kernels;

/// <summary>
/// A kernel config fragment as scripts/kconfig/merge_config.sh takes it: "CONFIG_NAME=value" lines and
/// "# CONFIG_NAME is not set" lines, other '#' lines being comments. olddefconfig silently drops a
/// setting whose dependencies are off, so <see cref="FindDropped"/> checks a built .config against it.
/// </summary>
public sealed partial class KernelConfigFragment
{
    /// <summary>The resource name of kernel/vmps.config, embedded in this assembly: every VmPs kernel has these settings.</summary>
    private const string VmPsResourceName = "VmPs.Core.Kernels.vmps.config";

    // Null value: "is not set". Later lines win, as with merge_config.sh.
    private readonly Dictionary<string, string?> settings;

    private KernelConfigFragment(Dictionary<string, string?> settings)
    {
        this.settings = settings;
    }

    /// <summary>The settings every VmPs kernel is built with (kernel/vmps.config).</summary>
    public static KernelConfigFragment VmPs { get; } = LoadVmPs();

    /// <summary>Option name (CONFIG_...) to value; null for "is not set".</summary>
    public IReadOnlyDictionary<string, string?> Settings => settings;

    /// <summary>The fragment as merge_config.sh reads it, one setting per line in option-name order.</summary>
    public string Text => string.Concat(settings.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => FormatLine(pair.Key, pair.Value) + "\n"));

    /// <summary>A hash of <see cref="Text"/> (lowercase hex): equal fragments hash equal whatever their comments and order.</summary>
    public string Hash => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Text))).ToLowerInvariant();

    /// <summary>Parses a fragment; <paramref name="source"/> names it in errors (a path, or "kernel/vmps.config").</summary>
    public static KernelConfigFragment Parse(string text, string source)
    {
        var parsed = new Dictionary<string, string?>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (NotSetLine().Match(line) is { Success: true } notSet)
            {
                parsed[notSet.Groups["name"].Value] = null;
            }
            else if (SettingLine().Match(line) is { Success: true } setting)
            {
                parsed[setting.Groups["name"].Value] = setting.Groups["value"].Value;
            }
            else if (!line.StartsWith('#'))
            {
                throw new VmPsException(
                    VmPsErrorIds.KernelConfigInvalid,
                    VmPsErrorKind.InvalidData,
                    $"Line {lineNumber} of the kernel config fragment '{source}' is neither CONFIG_NAME=value, '# CONFIG_NAME is not set' nor a comment: '{line}'.",
                    source);
            }
        }

        return new KernelConfigFragment(parsed);
    }

    public static async Task<KernelConfigFragment> ReadAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new VmPsException(VmPsErrorIds.KernelConfigNotFound, VmPsErrorKind.ObjectNotFound, $"The kernel config fragment '{path}' does not exist.", path, ex);
        }

        return Parse(text, path);
    }

    /// <summary>This fragment with <paramref name="other"/>'s settings on top (its values win).</summary>
    public KernelConfigFragment With(KernelConfigFragment other)
    {
        var merged = new Dictionary<string, string?>(settings, StringComparer.Ordinal);
        foreach (var (name, value) in other.settings)
        {
            merged[name] = value;
        }

        return new KernelConfigFragment(merged);
    }

    /// <summary>
    /// The settings a built .config does not have, each as "CONFIG_X=y (the .config has: ...)". An option that is
    /// "not set" here may also be absent from the .config (its menu is off).
    /// </summary>
    public IReadOnlyList<string> FindDropped(string builtConfigText)
    {
        var built = Parse(builtConfigText, ".config").settings;
        var dropped = new List<string>();
        foreach (var (name, value) in settings.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var present = built.TryGetValue(name, out var builtValue);
            if (value is null ? present && builtValue is not null : !present || builtValue != value)
            {
                var has = !present ? "nothing" : builtValue is null ? "is not set" : $"{name}={builtValue}";
                dropped.Add($"{FormatLine(name, value)} (the .config has {has})");
            }
        }

        return dropped;
    }

    private static string FormatLine(string name, string? value) => value is null ? $"# {name} is not set" : $"{name}={value}";

    private static KernelConfigFragment LoadVmPs()
    {
        using var stream = typeof(KernelConfigFragment).Assembly.GetManifestResourceStream(VmPsResourceName)
            ?? throw new InvalidOperationException($"The resource {VmPsResourceName} is missing from VmPs.Core.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "kernel/vmps.config");
    }

    [GeneratedRegex(@"^(?<name>CONFIG_[A-Za-z0-9_]+)=(?<value>.*)\z")]
    private static partial Regex SettingLine();

    [GeneratedRegex(@"^# (?<name>CONFIG_[A-Za-z0-9_]+) is not set\z")]
    private static partial Regex NotSetLine();
}
