using System.Buffers.Binary;
using MmapKv.Simulation;
using MmapKv.Storage;
using MmapKv.Transactions;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Running out of disk (docs/durability.md §5.1): growth falls back to exactly what a transaction needs, a failed
/// growth gives back what it allocated, quarantined pages are reclaimed before giving up, and a reserve lets
/// deletes run on a full disk. On the simulated store and on real small file systems (tmpfs, loop-mounted ext4).
/// </summary>
public class DiskFullTests(ITestOutputHelper output)
{
    private const int PageSize = 4096;
    private const int ValueSize = 100;

    private static byte[] Key(int i)
    {
        var k = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(k, (long)(uint)(i * 2654435761u)); // spread: keys land all over the tree
        return k;
    }

    /// <summary>Keys after every <see cref="Key"/> (which all start with four zero bytes).</summary>
    private static byte[] EdgeKey(int i)
    {
        var k = new byte[5];
        k[0] = 1;
        BinaryPrimitives.WriteInt32BigEndian(k.AsSpan(1), i);
        return k;
    }

    private static byte[] Value(int i)
    {
        var v = new byte[ValueSize];
        new Random(i).NextBytes(v);
        return v;
    }

    /// <summary>Inserts batches until DatabaseFullException, then smaller ones until that fails too. Returns the keys committed.</summary>
    private static int Fill(KvDatabase db, Durability durability = Durability.Immediate)
    {
        int committed = 0;
        foreach (int batch in new[] { 2000, 100, 5 })
        {
            while (true)
            {
                using var tx = db.BeginWrite();
                try
                {
                    for (int i = committed; i < committed + batch; i++) tx.Put(Key(i), Value(i));
                    tx.Commit(durability);
                    committed += batch;
                }
                catch (DatabaseFullException) { break; }
            }
        }
        return committed;
    }

    private static void AssertContents(KvDatabase db, int committed, ISet<int> deleted)
    {
        Assert.True(db.Check().IsValid);
        using var tx = db.BeginRead();
        for (int i = 0; i < committed; i++)
        {
            bool found = tx.TryGet(Key(i), out var v);
            Assert.Equal(!deleted.Contains(i), found);
            if (found) Assert.True(v.SequenceEqual(Value(i)), $"key {i}");
        }
        Assert.False(tx.TryGet(Key(committed), out _));
    }

    /// <summary>200 keys spread over the whole tree: every one in a different leaf, the worst case for copy-on-write.</summary>
    private static HashSet<int> Delete200(KvDatabase db, int committed)
    {
        var deleted = new HashSet<int>();
        using var tx = db.BeginWrite();
        for (int j = 0; j < 200; j++)
        {
            int i = (int)((long)j * committed / 200);
            Assert.True(tx.Delete(Key(i)));
            deleted.Add(i);
        }
        tx.Commit();
        return deleted;
    }

    private static SimulatedStorage FullSim(long deviceBytes, out KvDatabase db, out int committed)
    {
        var sim = CrashRunner.NewFormatted(PageSize, 64 << 20, 5);
        sim.DeviceBytes = deviceBytes;
        db = KvDatabase.Open("sim", sim, CrashRunner.Options(PageSize, 64 << 20));
        committed = Fill(db);
        return sim;
    }

    [Fact]
    public void Growth_FallsBackDownToWhatTheTransactionNeeds()
    {
        long device = (6 << 20) + 7 * PageSize; // not a multiple of any growth step
        var sim = FullSim(device, out var db, out int committed);
        var reserve = db.Growth!.ReserveBytes;
        output.WriteLine($"{committed} keys; length {sim.Length} of {device}; reserve {reserve}");
        // A refused request was followed by a smaller one (not a DatabaseFullException at once).
        var requests = sim.GrowRequests;
        Assert.Contains(requests.Zip(requests.Skip(1)), p => !p.First.Granted && p.Second.Length < p.First.Length);
        // And the refusals that ended in DatabaseFullException came down to within one allocation of the length.
        var last = requests.Last();
        Assert.False(last.Granted);
        Assert.True(last.Length - sim.Length <= reserve + 8 * PageSize, $"last refused request {last.Length}, length {sim.Length}");
        // So the file ends within a few pages (one allocation: a leaf, or the free map's directory run) of the device.
        Assert.True(sim.Length <= device);
        Assert.True(device - sim.Length < 8 * PageSize, $"{device - sim.Length} bytes of the device left unused");
        // The pages past the high-water mark are the reserve, not taken by inserts.
        Assert.True(sim.Length - db.Current.Meta.PageCount * PageSize >= reserve);
        db.Dispose();
        sim.Release();
    }

    [Fact]
    public void DeleteOnly_FitsInTheReserve_WhenTheDiskIsFull()
    {
        var sim = FullSim(6 << 20, out var db, out int committed);
        using (var tx = db.BeginWrite()) // the disk really is full for inserts
        {
            Assert.Throws<DatabaseFullException>(() => { for (int i = 0; i < 2000; i++) tx.Put(Key(committed + i), Value(i)); });
        }
        var deleted = Delete200(db, committed);
        AssertContents(db, committed, deleted);
        // The delete made room: its frees are reusable now that it is durable.
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 50; i++) tx.Put(Key(committed + i), Value(committed + i));
            tx.Commit();
        }
        committed += 50;
        db.Dispose();
        var after = sim.AfterCrash(CrashKind.PowerLoss, 9);
        sim.Release();
        using (var reopened = KvDatabase.Open("sim", after, CrashRunner.Options(PageSize, 64 << 20)))
            AssertContents(reopened, committed, deleted);
        after.Release();
    }

    /// <summary>
    /// Measures the pages a 200-key delete of spread keys writes in a ~35 MiB database, and pins that it fits the
    /// reserve with room to spare (FileGrowth.ReservePages documents the figure).
    /// </summary>
    [Fact]
    public void DeleteOf200RandomKeys_FitsTheReserve()
    {
        var sim = CrashRunner.NewFormatted(PageSize, 64 << 20, 5);
        var db = KvDatabase.Open("sim", sim, CrashRunner.Options(PageSize, 64 << 20));
        int committed = 0;
        while (db.Current.Meta.PageCount * PageSize < 35L << 20)
        {
            using var tx = db.BeginWrite();
            for (int i = committed; i < committed + 5000; i++) tx.Put(Key(i), Value(i));
            tx.Commit();
            committed += 5000;
        }
        db.Flush();
        Assert.Empty(sim.DirtySectors());
        using (var tx = db.BeginWrite())
        {
            for (int j = 0; j < 200; j++) Assert.True(tx.Delete(Key((int)((long)j * committed / 200))));
            tx.Commit(Durability.Deferred); // leaves its pages dirty in the cache, to be counted
        }
        long pages = sim.DirtySectors().Select(s => s / PageSize).Distinct().Count();
        output.WriteLine($"{committed} keys, {db.Current.Meta.PageCount * PageSize >> 20} MiB: a 200-key delete wrote {pages} pages; reserve {FileGrowth.ReservePages}");
        Assert.True(pages * 2 <= FileGrowth.ReservePages, $"{pages} pages");
        Assert.True(pages >= 200, $"{pages} pages: the keys did not land in distinct leaves, so this measured nothing");
        db.Dispose();
        sim.Release();
    }

    /// <summary>
    /// Under Durability.Deferred the pages a commit freed are quarantined until it is durable. A full disk must not
    /// be reported while a flush would make them reusable: the growth path flushes and takes them. And inserts are
    /// refused only once the pages left for deletes (free, quarantined, or past the high-water mark) come down to the
    /// delete reserve (W7), not before and not after.
    /// </summary>
    [Fact]
    public void GrowthFailure_ReclaimsQuarantinedPagesByFlushing()
    {
        var sim = FullSim(6 << 20, out var db, out int committed);
        long reservePages = db.Growth!.ReserveBytes / PageSize;
        var deleted = new HashSet<int>();
        using (var tx = db.BeginWrite()) // delete the first quarter of the keys in key order, not yet durable
        {
            for (int i = 0; i < committed; i++)
                if (BinaryPrimitives.ReadInt64BigEndian(Key(i)) < 1L << 30) { Assert.True(tx.Delete(Key(i))); deleted.Add(i); }
            tx.Commit(Durability.Deferred);
        }
        long durable = db.DurableTxnId;
        var stats = db.GetStats();
        long pool = stats.FreePages - stats.HeldFreePages;
        output.WriteLine($"deleted {deleted.Count}; free pages {stats.FreePages}, of them held {stats.HeldFreePages}; length {sim.Length}, pages {stats.PageCount}");
        Assert.True(stats.HeldFreePages > 100);
        // Appended at the right edge in Deferred batches until refused: past the pool, only the quarantined pages the
        // delete freed can hold them.
        const int batch = 100;
        int added = 0;
        Assert.Throws<DatabaseFullException>((Action)(() =>
        {
            while (true)
            {
                using var tx = db.BeginWrite();
                for (int i = added; i < added + batch; i++) tx.Put(EdgeKey(i), Value(i));
                tx.Commit(Durability.Deferred);
                added += batch;
            }
        }));
        Assert.True(db.DurableTxnId > durable, "the growth path did not flush");
        db.Flush();
        var after = db.GetStats();
        long grew = (after.PageCount - after.FreePages) - (stats.PageCount - stats.FreePages);
        long left = sim.Length / PageSize - after.PageCount + after.FreePages;
        long perBatch = (grew * batch + added - 1) / Math.Max(1, added);
        output.WriteLine($"added {added} in batches of {batch}: the pages in use grew by {grew} (about {perBatch} a batch); the pool held {pool}; {left} pages left for deletes, reserve {reservePages}");
        Assert.True(grew > pool, $"the inserts took {grew} pages, which the pool's {pool} could hold: the test measured nothing");
        Assert.InRange(left, reservePages, reservePages + 2 * perBatch + 8);
        AssertContents(db, committed, deleted);
        using (var tx = db.BeginRead())
        {
            for (int i = 0; i < added; i++) Assert.True(tx.TryGet(EdgeKey(i), out _));
            Assert.False(tx.TryGet(EdgeKey(added), out _)); // the refused batch left nothing
        }
        db.Dispose();
        sim.Release();
    }

    public static TheoryData<string, long> FileSystems => new() { { "tmpfs", 40L << 20 }, { "ext4", 64L << 20 } };

    /// <summary>
    /// On a real small file system: fill until DatabaseFullException, which must leave less than 1 MiB free (the
    /// fallback asks down to one allocation, a few pages); the database stays usable, a 200-key delete commits,
    /// Check() passes, closing gives back everything but the file, and the data is intact after reopen.
    /// </summary>
    [Theory]
    [MemberData(nameof(FileSystems))]
    public void RealFileSystem_FillDeleteReopen(string kind, long size)
    {
        using var fs = MountedFileSystem.TryMount(kind, size, output);
        if (fs is null) return;
        string path = Path.Combine(fs.Path, "app.mkv");
        long free0 = fs.Available;
        var options = new KvOptions { DeferredFlushInterval = TimeSpan.Zero };
        int committed;
        HashSet<int> deleted;
        long fileLength;
        using (var db = KvDatabase.Open(path, options))
        {
            committed = Fill(db);
            long freeAtFull = fs.Available;
            output.WriteLine($"{committed} keys; file {new FileInfo(path).Length} bytes; {freeAtFull} bytes free on the file system at DatabaseFullException");
            Assert.True(freeAtFull < 1 << 20, $"{freeAtFull} bytes still free when the database reported full");
            deleted = Delete200(db, committed);
            AssertContents(db, committed, deleted);
            fileLength = new FileInfo(path).Length;
        }
        long closedLength = new FileInfo(path).Length;
        long free1 = fs.Available;
        output.WriteLine($"closed: file {closedLength} bytes (open: {fileLength}); free {free1}, before {free0}");
        // Everything but the file is free again (metadata blocks of the file's extent tree: a little slack).
        Assert.InRange(free0 - closedLength - free1, -(64L << 10), 256L << 10);
        using (var db = KvDatabase.Open(path, options))
            AssertContents(db, committed, deleted);
    }

    /// <summary>
    /// A growth the disk cannot satisfy leaves the file system as it was: ext4 keeps the blocks a partial
    /// posix_fallocate got (so the file system would show no free space) unless the file is cut back.
    /// </summary>
    [Theory]
    [MemberData(nameof(FileSystems))]
    public unsafe void FailedGrowth_GivesBackWhatItAllocated(string kind, long size)
    {
        using var fs = MountedFileSystem.TryMount(kind, size, output);
        if (fs is null) return;
        string path = Path.Combine(fs.Path, "grow.mkv");
        File.WriteAllBytes(path, new byte[PageSize]);
        using var storage = MappedStorage.Open(path, readOnly: false, 1L << 30, createNew: false, 0);
        long before = fs.Available;
        Assert.Throws<DatabaseFullException>(() => storage.Grow(2 * size));
        long after = fs.Available;
        output.WriteLine($"{kind}: {before} bytes free before the failed growth, {after} after; file {new FileInfo(path).Length}");
        Assert.Equal(PageSize, storage.Length);
        Assert.Equal(PageSize, new FileInfo(path).Length);
        Assert.InRange(before - after, -(64L << 10), 64L << 10);
        storage.Grow(before / 2); // the space is usable
        Assert.Equal(before / 2 / PageSize * PageSize, storage.Length / PageSize * PageSize);
    }
}
