using System.Runtime.Versioning;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>Every file the tool creates gets the database files' permission bits (KvOptions.CreateMode, owner only).</summary>
[UnsupportedOSPlatform("windows")] // Unix permission bits; the storage backend is Unix-only too
public sealed class FilePermissionTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>What CreateMode becomes on a new file: the process umask still applies, so it is measured.</summary>
    private UnixFileMode Expected()
    {
        string probe = _dir.File("umask-probe");
        using (new FileStream(probe, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)0x1FF })) { }
        var allowed = File.GetUnixFileMode(probe);
        File.Delete(probe);
        return (UnixFileMode)new KvOptions().CreateMode & allowed;
    }

    private string Source()
    {
        string path = _dir.File("src.mkv");
        Write(path, Enumerable.Range(0, 200).Select(i => KeyValuePair.Create(B($"k{i:D4}"), B($"v{i}"))));
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Copy_IsCreatedWithCreateMode(bool compact)
    {
        string src = Source(), dest = _dir.File("copy.mkv");
        Cli.Expect(0, compact ? ["copy", src, dest, "--compact"] : ["copy", src, dest]);
        Assert.Equal(Expected(), File.GetUnixFileMode(src)); // the database itself, for comparison
        Assert.Equal(Expected(), File.GetUnixFileMode(dest));
    }

    [Fact]
    public void DumpOutputFile_IsCreatedWithCreateMode()
    {
        string src = Source(), text = _dir.File("dump.txt");
        Cli.Expect(0, "dump", src, "--all", "-o", text);
        Assert.Equal(Expected(), File.GetUnixFileMode(text));
        Assert.StartsWith("VERSION=3\n", File.ReadAllText(text));
    }
}
