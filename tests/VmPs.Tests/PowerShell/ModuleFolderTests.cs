using System.Runtime.InteropServices;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.Tests.PowerShell;

public sealed class ModuleFolderTests
{
    public static readonly TheoryData<string> ModuleFiles =
    [
        "VmPs.psd1",
        "VmPs.PowerShell.dll",
        "VmPs.Core.dll",
        "VmPs.Protocol.dll",
        "Microsoft.Data.Sqlite.dll",
        "SQLitePCLRaw.core.dll",
        "SQLitePCLRaw.provider.e_sqlite3.dll",
        "runtimes/linux-x64/native/libe_sqlite3.so",
        "VmPs.Format.ps1xml",
        "VmPs.Types.ps1xml",
        "en-US/about_VmPs.help.txt",
        "en-US/VmPs.PowerShell.dll-Help.xml",
        "guest/vmps-guest",
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
        Assert.False(File.Exists(Path.Combine(ModuleLayout.ModuleDirectory, "System.Management.Automation.dll")));
    }

    [Fact]
    public void The_module_manifest_is_the_one_at_the_repository_root()
    {
        Assert.Equal(File.ReadAllText(Path.Combine(ModuleLayout.RepoRoot, "VmPs.psd1")), File.ReadAllText(ModuleLayout.ManifestPath));
    }

    [Fact]
    public void The_guest_binary_is_an_executable_x86_64_elf_file()
    {
        var guest = Path.Combine(ModuleLayout.ModuleDirectory, "guest", "vmps-guest");
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
    public void The_module_finds_the_shipped_sqlite_library_by_the_name_SQLitePCLRaw_asks_for()
    {
        Assert.Equal(ModuleLayout.NativeSqlitePath, NativeLibraryProbe.Locate(ModuleLayout.ModuleDirectory, "e_sqlite3"));
        Assert.Equal(ModuleLayout.NativeSqlitePath, NativeLibraryProbe.Locate(ModuleLayout.ModuleDirectory, "libe_sqlite3.so"));
        Assert.Null(NativeLibraryProbe.Locate(ModuleLayout.ModuleDirectory, "no_such_library"));
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
}
