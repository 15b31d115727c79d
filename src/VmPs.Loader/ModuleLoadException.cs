using System.Management.Automation;

namespace VmPs.Loader;

/// <summary>A file of the module folder that could not be loaded.</summary>
internal sealed class ModuleLoadException(string path, Exception innerException)
    : Exception($"VmPs cannot load '{path}': {innerException.Message} Reinstall the module (build.ps1 -Task Install).", innerException)
{
    /// <summary>The file that failed to load.</summary>
    public string Path { get; } = path;
}

/// <summary>What Import-Module reports when the module folder is damaged: ModuleLoadFailed, naming the file.</summary>
public sealed class ModuleLoadFailedException : RuntimeException
{
    private readonly ErrorRecord errorRecord;

    internal ModuleLoadFailedException(ModuleLoadException failure)
        : base(failure.Message, failure)
    {
        errorRecord = new ErrorRecord(this, "ModuleLoadFailed", ErrorCategory.ResourceUnavailable, failure.Path)
        {
            ErrorDetails = new ErrorDetails(failure.Message) { RecommendedAction = "Reinstall the module: build.ps1 -Task Install." },
        };
    }

    public override ErrorRecord ErrorRecord => errorRecord;
}
