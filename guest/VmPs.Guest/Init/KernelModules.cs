using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>
/// The modules the initrd carries: /vmps/modules/&lt;file&gt;.ko, listed in /vmps/modules/order in load order,
/// one per line as "file.ko dependency.ko ...". Boot loads only what it needs, when it needs it (under
/// emulation each load takes 20-30 ms, whatever the module's size); <see cref="LoadRemaining"/> loads the rest.
/// Every file is opened up front, so loading still works after the switch root removed the directory.
/// A kernel that has everything built in (the VmPs kernel) has no order file: <see cref="IsEmpty"/>.
/// </summary>
internal sealed class KernelModules
{
    public const string Directory = "/vmps/modules";

    private readonly List<ModuleFile> modules;

    private KernelModules(List<ModuleFile> modules)
    {
        this.modules = modules;
    }

    /// <summary>True for a kernel with everything built in: the initrd has no modules, and the boot loads none.</summary>
    public bool IsEmpty => modules.Count == 0;

    public static KernelModules Open()
    {
        var order = Path.Combine(Directory, "order");
        if (!File.Exists(order))
        {
            return new KernelModules([]);
        }

        var modules = File.ReadLines(order)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 0)
            .Select(fields => new ModuleFile(fields[0], fields[1..], File.OpenHandle(Path.Combine(Directory, fields[0]))))
            .ToList();
        return new KernelModules(modules);
    }

    /// <summary>Loads these modules (by name, dashes or underscores) after their dependencies; absent names are built in.</summary>
    public void Load(params string[] names)
    {
        foreach (var name in names)
        {
            if (Find(name) is { } module)
            {
                foreach (var dependency in module.Dependencies)
                {
                    Load(dependency);
                }

                LoadOnce(module);
            }
        }
    }

    public void LoadRemaining()
    {
        foreach (var module in modules)
        {
            LoadOnce(module);
        }
    }

    private ModuleFile? Find(string name)
    {
        var fileName = Normalize(name.EndsWith(".ko", StringComparison.Ordinal) ? name : name + ".ko");
        return modules.FirstOrDefault(module => Normalize(module.FileName) == fileName);
    }

    private static string Normalize(string fileName) => fileName.Replace('-', '_');

    private static void LoadOnce(ModuleFile module)
    {
        if (module.Loaded)
        {
            return;
        }

        module.Loaded = true;
        var result = NativeMethods.LoadModule(module.File);
        module.File.Dispose();
        // EEXIST: built in or already loaded. ENODEV: hardware-specific (e.g. crc32c-intel on a CPU without SSE4.2).
        if (result < 0 && -result is not (Libc.EEXIST or Libc.ENODEV))
        {
            // Not fatal by itself: a missing driver shows up as a missing disk or port, with a clearer message.
            InitLog.Warning(InitLogPhases.Modules, $"module {module.FileName} did not load", Libc.ErrorText(-result));
        }
    }

    private sealed class ModuleFile(string fileName, string[] dependencies, SafeFileHandle file)
    {
        public string FileName { get; } = fileName;

        public string[] Dependencies { get; } = dependencies;

        public SafeFileHandle File { get; } = file;

        public bool Loaded { get; set; }
    }
}
