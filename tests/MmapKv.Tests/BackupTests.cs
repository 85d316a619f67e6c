using System.Runtime.InteropServices;
using MmapKv.Storage;
using System.Runtime.Versioning;
using Xunit;

namespace MmapKv.Tests;

/// <summary>CopyTo: the files it creates, and compaction into a stream.</summary>
[UnsupportedOSPlatform("windows")] // Unix permission bits; the storage backend is Unix-only too
public partial class BackupTests
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

    [Fact]
    public void CopyToStream_Compact_RepeatedUnderAShortDeferredFlushInterval_GivesValidDatabases()
    {
        using var dir = new TempDir();
        var options = new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.FromMilliseconds(1) };
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using var db = KvDatabase.Open(dir.File(), options);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 2000; i++)
            {
                expected[$"k{i:D5}"] = $"value {i}";
                tx.Put(Bytes.Of($"k{i:D5}"), Bytes.Of($"value {i}"));
            }
            tx.OpenTree("t").Put("named"u8, "tree"u8);
            tx.Commit();
        }
        for (int round = 0; round < 20; round++)
        {
            // The compaction target inherits the source's options. A flush timer on it could still be running
            // when the target was disposed, keeping it open and locked, so reading the compacted file back
            // failed with IOException; the target now has no timer. (The race is narrow: it has not failed
            // on every machine, so this loops.)
            using var stream = new MemoryStream();
            db.CopyTo(stream, compact: true);
            string file = dir.File($"round-{round}.mkv");
            File.WriteAllBytes(file, stream.ToArray());
            using var copy = KvDatabase.Open(file, new KvOptions { ReadOnly = true });
            var report = copy.Check();
            Assert.True(report.IsValid, report.ToString());
            using var rtx = copy.BeginRead();
            var actual = new SortedDictionary<string, string>(StringComparer.Ordinal);
            using (var c = rtx.OpenCursor())
                for (bool ok = c.First(); ok; ok = c.Next()) actual[Bytes.Str(c.Key)] = Bytes.Str(c.Value);
            Assert.Equal(expected, actual);
            Assert.Equal(["t"], rtx.GetTreeNames());
            Assert.True(rtx.OpenTree("t").TryGet("named"u8, out var v));
            Assert.Equal("tree", Bytes.Str(v));
        }
    }
    /// <summary>
    /// A copy written with <c>write</c> would stay in the page cache as large folios, and a database opened on it
    /// would write whole folios for every page it changes through the map (docs/durability.md §13.1). CopyTo syncs
    /// the copy and drops its cached pages, so none of them is resident afterwards.
    /// </summary>
    [Fact]
    public void CopyTo_File_LeavesNoPageOfTheCopyInThePageCache()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "dropping a file's cached pages (posix_fadvise) is Linux's");
        using var dir = new TempDir();
        string path = dir.File(), copy = dir.File("copy.mkv");
        using var db = KvDatabase.Open(path);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 5000; i++) tx.Put(Bytes.Of($"k{i:D5}"), new byte[100]);
            tx.Commit();
        }
        db.CopyTo(copy);
        var (resident, pages) = ResidentPages(copy);
        Assert.True(pages > 100, $"the copy has only {pages} pages");
        Assert.Equal(0, resident);
        using var reopened = KvDatabase.Open(copy);
        Assert.Equal(5000, reopened.GetStats().TotalEntries);
    }

    /// <summary>How many of the file's 4 KiB pages are in the page cache (mincore over a read-only map), and of how many.</summary>
    private static unsafe (int Resident, int Pages) ResidentPages(string file)
    {
        using var handle = File.OpenHandle(file);
        long length = RandomAccess.GetLength(handle);
        int pages = checked((int)((length + 4095) / 4096));
        nint map = Libc.Mmap(0, (nuint)length, Libc.Constants.PROT_READ, Libc.Constants.MAP_SHARED, (int)handle.DangerousGetHandle(), 0);
        Assert.NotEqual(-1, map);
        try
        {
            var vector = new byte[pages];
            fixed (byte* v = vector) Assert.Equal(0, Mincore(map, (nuint)length, v));
            return (vector.Count(b => (b & 1) != 0), pages);
        }
        finally
        {
            Libc.Munmap(map, (nuint)length);
        }
    }

    /// <summary>Only this test asks which pages are resident, so the call is declared here, not in the engine's Libc.</summary>
    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int Mincore(nint addr, nuint length, byte* vector);
}
