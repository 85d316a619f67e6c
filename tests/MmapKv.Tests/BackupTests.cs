using System.Runtime.Versioning;
using Xunit;

namespace MmapKv.Tests;

/// <summary>CopyTo: the files it creates.</summary>
[UnsupportedOSPlatform("windows")] // Unix permission bits; the storage backend is Unix-only too
public class BackupTests
{
    /// <summary>
    /// The permission bits a new file gets when created with <paramref name="mode"/>: the process umask still
    /// applies (as it does to the database file itself), so it is measured rather than assumed.
    /// </summary>
    private static UnixFileMode Effective(TempDir dir, int mode)
    {
        string probe = dir.File("umask-probe");
        using (new FileStream(probe, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)0x1FF })) { }
        var allowed = File.GetUnixFileMode(probe);
        File.Delete(probe);
        return (UnixFileMode)mode & allowed;
    }

    [Theory]
    [InlineData(false, 0x180)] // 0600, the default
    [InlineData(true, 0x180)]
    [InlineData(false, 0x1A0)] // 0640
    [InlineData(true, 0x1A0)]
    public void CopyTo_File_IsCreatedWithCreateMode(bool compact, int createMode)
    {
        using var dir = new TempDir();
        var options = new KvOptions { CreateMode = createMode };
        string path = dir.File(), copy = dir.File("copy.mkv");
        using var db = KvDatabase.Open(path, options);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 100; i++) tx.Put(Bytes.Of($"k{i:D3}"), Bytes.Of($"v{i}"));
            tx.Commit();
        }
        db.CopyTo(copy, compact);
        var expected = Effective(dir, createMode);
        Assert.Equal(expected, File.GetUnixFileMode(path)); // the database file itself, for comparison
        Assert.Equal(expected, File.GetUnixFileMode(copy)); // a backup holds the same data: no wider access
    }
}
