using System.Runtime.Versioning;
using MmapKv.Storage;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The Windows backend's own promises (docs/durability.md §13.3): one fixed range filled view by view, the
/// release-and-map path when another allocation takes the hole, and a file that ends off the 64 KiB granularity.
/// Run under Wine by .ci/wine; on other systems each test says NOT RUN and returns (the convention of
/// <see cref="MountedFileSystem"/>): the other backends have their own tests.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))] // the test hook and the placeholder switch are process-wide
public sealed unsafe class WindowsStorageTests(ITestOutputHelper output)
{
    [UnsupportedOSPlatformGuard("windows")]
    private bool NotWindows()
    {
        if (OperatingSystem.IsWindows()) return false;
        output.WriteLine("NOT RUN: the Windows storage backend runs on Windows only (.ci/wine runs it under Wine).");
        return true;
    }

    /// <summary>Growth keeps the base and every byte already written; each new length is allocated and on disk.</summary>
    [Fact]
    public void Growth_AddsViewsUnderOneFixedBase_AndKeepsWhatWasWritten()
    {
        if (NotWindows()) return;
        using var dir = new TempDir();
        string path = dir.File();
        using var storage = MappedStorage.Open(path, readOnly: false, 64L << 20, createNew: true, 0);
        var wide = (WindowsMappedFile)storage;
        output.WriteLine($"placeholders: {wide.UsesPlaceholders}");
        byte* start = storage.Base;
        long[] asked = [8192, 1 << 20, (3 << 20) + 4096, 10 << 20, 64L << 20];
        var markers = new long[asked.Length];
        int marked = 0;
        foreach (long length in asked)
        {
            storage.Grow(length);
            Assert.True(storage.Base == start, "the base moved");
            Assert.True(storage.Length >= length);
            Assert.True(storage.Length % 65536 == 0 || storage.Length == storage.Capacity, $"length {storage.Length} is off the granularity");
            Assert.Equal(storage.Length, new FileInfo(path).Length);
            // The last byte of the new range is mapped and writable; every earlier marker is still there.
            storage.Write(storage.Length - 1, [(byte)(length % 251)]);
            for (int i = 0; i < marked; i++) Assert.Equal(0x5A, storage.Base[markers[i]]);
            storage.Base[storage.Length - 2] = 0x5A;
            markers[marked++] = storage.Length - 2;
        }
        storage.Flush(0, storage.Length);
        storage.Sync();
        foreach (long at in markers) Assert.Equal(0x5A, storage.Base[at]);
        Assert.Throws<DatabaseFullException>(() => storage.Grow(storage.Capacity + 1));
    }

    /// <summary>
    /// Fallback: another allocation lands in the hole released for the first view of a new file. Nothing points
    /// into the range yet, so the range moves elsewhere and the file is mapped there: creating a database does not
    /// fail because another thread allocated at the wrong moment (seen in the parallel suite under Wine).
    /// </summary>
    [Fact]
    [SupportedOSPlatform("windows")] // returns at once elsewhere (NotWindows); the analyzer does not follow that guard into lambdas
    public void Fallback_WhenAnotherAllocationTakesTheHoleOfTheFirstView_TheRangeMovesAndTheFileMaps()
    {
        if (NotWindows()) return;
        using var dir = new TempDir();
        string path = dir.File();
        WindowsMappedFile.UsePlaceholders = false;
        var stolen = new List<nint>();
        try
        {
            using var storage = MappedStorage.Open(path, readOnly: false, 64L << 20, createNew: true, 0);
            nint first = (nint)storage.Base;
            int thread = Environment.CurrentManagedThreadId;
            WindowsAddressRange.AfterReleaseForTests = at =>
            {
                // Only this storage's first two attempts: other tests' databases grow on other threads.
                if (stolen.Count >= 2 || Environment.CurrentManagedThreadId != thread) return;
                nint got = (nint)Kernel32.VirtualAlloc((void*)at, 65536, Kernel32.MEM_RESERVE, Kernel32.PAGE_NOACCESS);
                if (got != 0) stolen.Add(got);
            };
            try
            {
                storage.Grow(8192);
            }
            finally
            {
                WindowsAddressRange.AfterReleaseForTests = null;
            }
            Assert.Equal(2, stolen.Count);
            Assert.True((nint)storage.Base != first, "the range did not move");
            storage.Write(8191, [0x5A]);
            storage.Flush(0, 8192);
            Assert.Equal(0x5A, storage.Base[8191]);
            storage.Grow(1 << 20); // later growth goes on from the new place
            storage.Base[(1 << 20) - 1] = 0x33;
            Assert.Equal(0x5A, storage.Base[8191]);
        }
        finally
        {
            WindowsAddressRange.AfterReleaseForTests = null;
            WindowsMappedFile.UsePlaceholders = true;
            foreach (nint p in stolen) Kernel32.VirtualFree((void*)p, 0, Kernel32.MEM_RELEASE);
        }
    }

    /// <summary>
    /// Fallback: another allocation lands in the hole released for a growth. The growth fails with a typed error,
    /// nothing mapped moves, and the database keeps working at its length; a reopen can grow again.
    /// </summary>
    [Fact]
    [SupportedOSPlatform("windows")] // returns at once elsewhere (NotWindows); the analyzer does not follow that guard into lambdas
    public void Fallback_WhenAnotherAllocationTakesTheHole_GrowthFailsTypedAndTheMapStays()
    {
        if (NotWindows()) return;
        using var dir = new TempDir();
        string path = dir.File();
        WindowsMappedFile.UsePlaceholders = false;
        try
        {
            using (var db = KvDatabase.Open(path, new KvOptions { MaxSize = 256L << 20 }))
            {
                using (var tx = db.BeginWrite())
                {
                    tx.Put("before"u8, "1"u8);
                    tx.Commit();
                }
                nint lo = (nint)db.Storage.Base, hi = lo + (nint)db.Storage.Capacity;
                long length = db.Storage.Length;
                nint stolen = 0;
                WindowsAddressRange.AfterReleaseForTests = at =>
                {
                    if (at < lo || at >= hi || stolen != 0) return; // another test's database
                    stolen = (nint)Kernel32.VirtualAlloc((void*)at, 65536, Kernel32.MEM_RESERVE, Kernel32.PAGE_NOACCESS);
                };
                try
                {
                    var e = Assert.Throws<DatabaseFullException>(() =>
                    {
                        using var tx = db.BeginWrite();
                        tx.Put("big"u8, new byte[8 << 20]); // needs growth
                        tx.Commit();
                    });
                    output.WriteLine(e.Message);
                    Assert.True(stolen != 0, "the hook did not take the hole");
                    Assert.Contains("reopen", e.ToString(), StringComparison.OrdinalIgnoreCase);
                }
                finally
                {
                    WindowsAddressRange.AfterReleaseForTests = null;
                }
                Assert.Equal(length, db.Storage.Length);
                Assert.True(db.Check().IsValid);
                using (var tx = db.BeginWrite())
                {
                    tx.Put("after"u8, "2"u8); // fits in the space already mapped
                    tx.Commit();
                }
                Kernel32.VirtualFree((void*)stolen, 0, Kernel32.MEM_RELEASE);
            }
            using (var db = KvDatabase.Open(path, new KvOptions { MaxSize = 256L << 20 }))
            {
                using (var tx = db.BeginWrite())
                {
                    tx.Put("big"u8, new byte[8 << 20]);
                    tx.Commit();
                }
                using var r = db.BeginRead();
                Assert.True(r.TryGet("before"u8, out _));
                Assert.True(r.TryGet("after"u8, out _));
                Assert.True(r.TryGet("big"u8, out var big));
                Assert.Equal(8 << 20, big.Length);
                Assert.True(db.Check().IsValid);
            }
        }
        finally
        {
            WindowsMappedFile.UsePlaceholders = true;
        }
    }

    /// <summary>
    /// A file that ends off the 64 KiB granularity (as Linux leaves it at close) is unchanged by a read-only open
    /// and by a read-write open until its first store, which rounds it up; it then grows and reopens like any.
    /// </summary>
    [Fact]
    public void FileOffTheGranularity_IsRoundedAtTheFirstStore_AndGrowsOn()
    {
        if (NotWindows()) return;
        using var dir = new TempDir();
        string path = dir.File();
        long pages;
        using (var db = KvDatabase.Open(path))
        {
            using var tx = db.BeginWrite();
            for (int i = 0; i < 100; i++) tx.Put(Bytes.Of($"k{i:D4}"), new byte[100]);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true })) pages = db.GetStats().PageCount;
        long odd = (pages + 3) * 4096;
        Assert.NotEqual(0, odd % 65536);
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(odd);
        using (var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true }))
        using (var r = db.BeginRead())
            Assert.True(r.TryGet("k0042"u8, out _));
        Assert.Equal(odd, new FileInfo(path).Length);
        using (var db = KvDatabase.Open(path))
        {
            Assert.Equal(0, db.Storage.Length % 65536);
            using (var tx = db.BeginWrite())
            {
                for (int i = 100; i < 5000; i++) tx.Put(Bytes.Of($"k{i:D4}"), new byte[100]);
                tx.Commit();
            }
            Assert.True(db.Check().IsValid);
        }
        using (var db = KvDatabase.Open(path))
        using (var r = db.BeginRead())
        {
            Assert.True(r.TryGet("k0042"u8, out _));
            Assert.True(r.TryGet("k4999"u8, out _));
        }
    }

    /// <summary>
    /// A process that mapped a new database before its creator's first store (an 8 KiB file, off the granularity)
    /// and another that grew it since: at open, a joiner replaces its last view by a longer one (under Wine, three
    /// of four processes opening one new file failed here with "the previous view ended off the allocation
    /// granularity"). After open that replacement could pull pages from under a reader, so a storage still mapped
    /// off the granularity refuses a later cover with a clear error instead.
    /// </summary>
    [Fact]
    public void OpenedOffTheGranularity_ThenGrownByAnother_IsCoveredAtOpen_AndRefusedAfterOpen()
    {
        if (NotWindows()) return;
        using var dir = new TempDir();
        string path = dir.File();
        using (var creator = MappedStorage.Open(path, readOnly: false, 8192, createNew: true, 0))
        {
            creator.Grow(8192);
            creator.Base[100] = 0x11;
            creator.Flush(0, 8192);
        }
        Assert.Equal(8192, new FileInfo(path).Length);
        using var writer = MappedStorage.Open(path, readOnly: false, 64L << 20, createNew: false, 0, exclusiveLock: false);
        using var reader = MappedStorage.Open(path, readOnly: true, 64L << 20, createNew: false, 0, exclusiveLock: false);
        using var late = MappedStorage.Open(path, readOnly: true, 64L << 20, createNew: false, 0, exclusiveLock: false);
        using (var grower = MappedStorage.Open(path, readOnly: false, 64L << 20, createNew: false, 0, exclusiveLock: false))
        {
            grower.Grow(1 << 20);
            grower.Base[(1 << 20) - 1] = 0x22;
            grower.Flush(0, grower.Length);
        }
        writer.CoverAtOpen(1 << 20, isDatabase: true);
        reader.CoverAtOpen(1 << 20, isDatabase: false);
        foreach (var s in new[] { writer, reader })
        {
            Assert.True(s.Length >= 1 << 20);
            Assert.Equal(0x11, s.Base[100]);
            Assert.Equal(0x22, s.Base[(1 << 20) - 1]);
        }
        writer.Grow(2 << 20); // growth goes on after the replaced view
        writer.Base[(2 << 20) - 1] = 0x33;
        Assert.Equal(0x22, writer.Base[(1 << 20) - 1]);
        var e = Assert.Throws<MmapKvException>(() => late.Cover(1 << 20));
        Assert.Contains("open it again", e.Message);
        Assert.Equal(8192, late.Length); // unchanged, and still readable
        Assert.Equal(0x11, late.Base[100]);
    }
}
