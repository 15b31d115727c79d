using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;

namespace VmPs.Tests.PowerShell;

public sealed class ModuleFolderTests
{
    public static readonly TheoryData<string> ModuleFiles =
    [
        "VmPs.psd1",
        "VmPs.Loader.dll",
        "VmPs.PowerShell.dll",
        "bin/VmPs.Core.dll",
        "bin/VmPs.Protocol.dll",
        "bin/Microsoft.Data.Sqlite.dll",
        "bin/SQLitePCLRaw.core.dll",
        "bin/SQLitePCLRaw.provider.e_sqlite3.dll",
        "bin/runtimes/linux-x64/native/libe_sqlite3.so",
        "bin/guest/vmps-guest",
        "bin/ingress-auth/VmPs.IngressAuth.dll",
        "bin/ingress-auth/VmPs.IngressAuth.runtimeconfig.json",
        "bin/ingress-auth/VmPs.Core.dll",
        "bin/ingress-auth/libe_sqlite3.so",
        "VmPs.Format.ps1xml",
        "VmPs.Types.ps1xml",
        "en-US/about_VmPs.help.txt",
        "en-US/about_VmPs_Images.help.txt",
        "en-US/about_VmPs_Networks.help.txt",
        "en-US/about_VmPs_Guests.help.txt",
        "en-US/about_VmPs_Storage.help.txt",
        "en-US/about_VmPs_Checkpoints.help.txt",
        "en-US/about_VmPs_Access.help.txt",
        "en-US/VmPs.PowerShell.dll-Help.xml",
        "LICENSE",
        "CHANGELOG.md",
    ];

    [Theory]
    [MemberData(nameof(ModuleFiles))]
    public void The_build_puts_the_file_in_the_module_folder(string relativePath)
    {
        Assert.True(File.Exists(Path.Combine(ModuleLayout.ModuleDirectory, relativePath)), $"missing {relativePath} in {ModuleLayout.ModuleDirectory}");
    }

    [Fact]
    public void The_module_folder_does_not_ship_PowerShell_itself()
    {
        Assert.Empty(Directory.GetFiles(ModuleLayout.ModuleDirectory, "System.Management.Automation.dll", SearchOption.AllDirectories));
    }

    [Fact]
    public void Only_the_loader_and_the_cmdlets_sit_beside_the_manifest_every_other_assembly_is_in_bin()
    {
        Assert.Equal(["VmPs.Loader.dll", "VmPs.PowerShell.dll"], Directory.GetFiles(ModuleLayout.ModuleDirectory, "*.dll").Select(Path.GetFileName).Order());
        Assert.DoesNotContain(Directory.GetFiles(ModuleLayout.BinDirectory, "*.dll").Select(Path.GetFileName), name => name!.StartsWith("VmPs.Loader", StringComparison.Ordinal) || name == "VmPs.PowerShell.dll");
    }

    [Fact]
    public void The_shipped_SQLitePCLRaw_is_the_one_Microsoft_Data_Sqlite_was_built_against()
    {
        var built = ReferencedAssembly(Path.Combine(ModuleLayout.BinDirectory, "Microsoft.Data.Sqlite.dll"), "SQLitePCLRaw.core");
        var shipped = AssemblyName.GetAssemblyName(Path.Combine(ModuleLayout.BinDirectory, "SQLitePCLRaw.core.dll"));

        Assert.Equal(built.Version, shipped.Version);
    }

    [Fact]
    public void The_module_manifest_is_the_one_at_the_repository_root()
    {
        Assert.Equal(File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "VmPs.psd1")), File.ReadAllText(ModuleLayout.ManifestPath));
    }

    [Fact]
    public void The_guest_binary_is_an_executable_x86_64_elf_file()
    {
        var guest = Path.Combine(ModuleLayout.BinDirectory, "guest", "vmps-guest");
        var header = new byte[20];
        using (var stream = File.OpenRead(guest))
        {
            stream.ReadExactly(header);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        Assert.Equal(2, header[4]); // ELFCLASS64
        Assert.Equal(0x3E, BitConverter.ToUInt16(header, 18)); // EM_X86_64
        Assert.True(OperatingSystem.IsLinux() && File.GetUnixFileMode(guest).HasFlag(UnixFileMode.UserExecute));
    }

    [Fact]
    public void The_loader_finds_the_shipped_sqlite_library_by_the_name_SQLitePCLRaw_asks_for()
    {
        Assert.Equal(ModuleLayout.NativeSqlitePath, VmPs.Loader.NativeLibraryLocator.Locate(ModuleLayout.BinDirectory, "e_sqlite3"));
        Assert.Equal(ModuleLayout.NativeSqlitePath, VmPs.Loader.NativeLibraryLocator.Locate(ModuleLayout.BinDirectory, "libe_sqlite3.so"));
        Assert.Null(VmPs.Loader.NativeLibraryLocator.Locate(ModuleLayout.BinDirectory, "no_such_library"));
        Assert.Equal([ModuleLayout.NativeSqlitePath], VmPs.Loader.NativeLibraryLocator.Shipped(ModuleLayout.BinDirectory));
    }

    [Fact]
    public void The_shipped_sqlite_library_loads_and_is_sqlite_3()
    {
        var library = NativeLibrary.Load(ModuleLayout.NativeSqlitePath);
        unsafe
        {
            var versionNumber = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "sqlite3_libversion_number");
            Assert.InRange(versionNumber(), 3_000_000, 3_999_999);
        }
    }

    private static AssemblyName ReferencedAssembly(string path, string name)
    {
        using var image = new PEReader(File.OpenRead(path));
        var metadata = image.GetMetadataReader();
        return metadata.AssemblyReferences
            .Select(handle => metadata.GetAssemblyReference(handle).GetAssemblyName())
            .Single(reference => reference.Name == name);
    }
}
