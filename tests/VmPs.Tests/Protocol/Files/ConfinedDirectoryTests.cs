using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Files;

/// <summary>
/// Lookups below a confined directory are resolved by the file system, so no link chain leaves it. Every case runs
/// twice: through openat2, and through the component walk used where openat2 is missing.
/// </summary>
public sealed class ConfinedDirectoryTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly string root;

    public ConfinedDirectoryTests()
    {
        // scratch/outside/etc/passwd is what an escape would reach; scratch/root is the confinement.
        Directory.CreateDirectory(scratch.Combine("outside", "etc"));
        File.WriteAllText(scratch.Combine("outside", "etc", "passwd"), "secret");
        root = scratch.Combine("outside", "root");
        Directory.CreateDirectory(root);
    }

    public void Dispose()
    {
        ConfinedDirectory.ForceComponentWalk = false;
        scratch.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chain_of_links_that_climbs_out_is_refused(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        File.CreateSymbolicLink(Path.Combine(this.root, "a"), ".");
        File.CreateSymbolicLink(Path.Combine(this.root, "b"), "a/a/../../etc");
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);

        var error = Assert.Throws<FileOperationException>(() => root.OpenParent("b/passwd"));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Contains("outside the destination", error.Message);
    }

    [Theory]
    [InlineData(false, "../etc")]
    [InlineData(true, "../etc")]
    [InlineData(false, "/etc")]
    [InlineData(true, "/etc")]
    [InlineData(false, "a/../../etc")]
    [InlineData(true, "a/../../etc")]
    public void Paths_and_links_that_leave_the_directory_are_refused_beneath_it(bool componentWalk, string escape)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        Directory.CreateDirectory(Path.Combine(this.root, "a"));
        File.CreateSymbolicLink(Path.Combine(this.root, "link"), escape);
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);

        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => root.OpenDirectory(escape)).Code);
        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => root.OpenDirectory("link")).Code);
        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => root.OpenDirectory("a/../link/x", createMissing: true)).Code);
        Assert.False(Directory.Exists(scratch.Combine("outside", "etc", "x")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void In_a_root_absolute_links_and_dot_dots_stay_at_the_root(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        Directory.CreateDirectory(Path.Combine(this.root, "etc"));
        File.CreateSymbolicLink(Path.Combine(this.root, "abs"), "/etc");
        File.CreateSymbolicLink(Path.Combine(this.root, "climb"), "../../../etc");
        using var root = ConfinedDirectory.Open(this.root, Confinement.InRoot);

        foreach (var path in new[] { "abs", "climb", "../etc", "/etc" })
        {
            var (directory, name) = root.OpenParent(path + "/planted");
            using (directory)
            {
                UnixDirectoryCalls.Open(directory, name, UnixDirectoryCalls.OpenWriteOnly | UnixDirectoryCalls.OpenCreate, (UnixFileMode)0x180).Dispose();
            }
        }

        Assert.True(File.Exists(Path.Combine(this.root, "etc", "planted")));
        Assert.Equal(["passwd"], Directory.EnumerateFileSystemEntries(scratch.Combine("outside", "etc")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void In_a_root_creating_through_dangling_links_makes_their_targets_inside(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        Directory.CreateDirectory(Path.Combine(this.root, "var"));
        File.CreateSymbolicLink(Path.Combine(this.root, "var", "run"), "/run");
        File.CreateSymbolicLink(Path.Combine(this.root, "lib"), "../../usr/lib");
        File.CreateSymbolicLink(Path.Combine(this.root, "loop"), "loop/x");
        using var root = ConfinedDirectory.Open(this.root, Confinement.InRoot);

        root.OpenDirectory("var/run/lock", createMissing: true).Dispose();
        root.OpenDirectory("lib/modules", createMissing: true).Dispose();

        Assert.True(Directory.Exists(Path.Combine(this.root, "run", "lock")));
        Assert.True(Directory.Exists(Path.Combine(this.root, "usr", "lib", "modules")));
        Assert.Equal(FileErrorCodes.LinkLoop, Assert.Throws<FileOperationException>(() => root.OpenDirectory("loop/y", createMissing: true)).Code);
        Assert.Equal(["passwd"], Directory.EnumerateFileSystemEntries(scratch.Combine("outside", "etc")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Links_that_stay_inside_are_followed_and_missing_directories_created(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        Directory.CreateDirectory(Path.Combine(this.root, "real"));
        File.CreateSymbolicLink(Path.Combine(this.root, "a"), ".");
        File.CreateSymbolicLink(Path.Combine(this.root, "real", "up"), "../a/real");
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);

        using (root.OpenDirectory("a/a/real/up/up/new/deeper", createMissing: true))
        {
        }

        Assert.True(Directory.Exists(Path.Combine(this.root, "real", "new", "deeper")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loops_dangling_links_and_files_on_the_way_fail_with_specific_codes(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        File.CreateSymbolicLink(Path.Combine(this.root, "loop1"), "loop2");
        File.CreateSymbolicLink(Path.Combine(this.root, "loop2"), "loop1");
        File.CreateSymbolicLink(Path.Combine(this.root, "dangling"), "nowhere");
        File.WriteAllText(Path.Combine(this.root, "file"), "");
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);

        Assert.Equal(FileErrorCodes.LinkLoop, Assert.Throws<FileOperationException>(() => root.OpenDirectory("loop1")).Code);
        Assert.Equal(FileErrorCodes.NotFound, Assert.Throws<FileOperationException>(() => root.OpenDirectory("dangling")).Code);
        Assert.Equal(FileErrorCodes.NotADirectory, Assert.Throws<FileOperationException>(() => root.OpenDirectory("file/x")).Code);

        // Creating never goes through a dangling link: the link's target is not made.
        Assert.Throws<FileOperationException>(() => root.OpenDirectory("dangling/x", createMissing: true));
        Assert.False(Directory.Exists(Path.Combine(this.root, "nowhere")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Whether_a_link_resolves_inside_is_judged_through_every_link_on_the_way(bool componentWalk)
    {
        ConfinedDirectory.ForceComponentWalk = componentWalk;
        Directory.CreateDirectory(Path.Combine(this.root, "dir"));
        File.WriteAllText(Path.Combine(this.root, "dir", "file"), "");
        File.CreateSymbolicLink(Path.Combine(this.root, "a"), ".");
        File.CreateSymbolicLink(Path.Combine(this.root, "file-link"), "a/dir/file");
        File.CreateSymbolicLink(Path.Combine(this.root, "dangling"), "a/nowhere");
        File.CreateSymbolicLink(Path.Combine(this.root, "out"), "a/a/../../etc/passwd");
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);

        Assert.True(root.ResolvesInside("file-link"));
        Assert.True(root.ResolvesInside("a/dir"));
        Assert.False(root.ResolvesInside("dangling"));
        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => root.ResolvesInside("out")).Code);
    }

    [Fact]
    public void A_confinement_below_another_keeps_what_is_written_under_it_inside_it()
    {
        Directory.CreateDirectory(Path.Combine(this.root, "tree"));
        File.CreateSymbolicLink(Path.Combine(this.root, "tree", "up"), "..");
        using var root = ConfinedDirectory.Open(this.root, Confinement.Beneath);
        using var tree = root.OpenConfined("tree");

        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => tree.OpenParent("up/sibling")).Code);
        Assert.Equal(FileErrorCodes.PathEscape, Assert.Throws<FileOperationException>(() => root.OpenParent("..")).Code);
        var (parent, name) = root.OpenParent("tree/up/sibling");
        using (parent)
        {
            Assert.Equal("sibling", name);
        }
    }
}
