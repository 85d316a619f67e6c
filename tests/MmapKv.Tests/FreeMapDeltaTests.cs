using System.Buffers.Binary;
using MmapKv.Format;
using MmapKv.FreeSpace;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The free map's delta (docs/format.md §7.2, §7.5): the directory's entries override the bitmaps when the map is
/// read, bad entries are refused, small commits leave the bitmaps alone until the delta folds, and a version 4 file,
/// whose directories have no delta, opens and is upgraded by its next commit.
/// </summary>
public unsafe class FreeMapDeltaTests
{
    private const int Ps = 4096;

    /// <summary>
    /// Random bitmaps and deltas over a page count spanning two bitmap pages: the runs ReadFree reports and the
    /// answers of FreeMap.IsFree both equal the model (a delta entry wins over its page's bit).
    /// </summary>
    [Fact]
    public void ReadFreeAndIsFree_ApplyTheDeltaOverTheBits()
    {
        long bitsPer = FreeMap.BitsPerPage(Ps);
        long pageCount = bitsPer + 5_000; // two bitmaps; only pages 0..9 exist in memory, the rest are never read
        var mem = new byte[10 * Ps];
        for (int round = 0; round < 40; round++)
        {
            var rng = new Random(round);
            Array.Clear(mem);
            var model = new bool[pageCount];
            fixed (byte* b = mem)
            {
                var ctx = new PageContext(b, Ps, pageCount);
                FreeMap.InitBitmap(ctx.Page(3), 3, 1, Ps);
                FreeMap.InitBitmap(ctx.Page(4), 4, 1, Ps);
                for (int i = 0; i < 2_000; i++)
                {
                    long id = MetaPage.Count + 5 + rng.NextInt64(pageCount - MetaPage.Count - 5);
                    model[id] = true;
                    FreeMap.SetBit(ctx.Page(3 + (int)(id / bitsPer)), id % bitsPer, true);
                }
                // Delta entries: some free a used page, some use a free page, some repeat the bit; runs of them too,
                // so they join runs of set bits.
                var delta = new SortedDictionary<long, bool>();
                int entries = rng.Next(0, 250);
                while (delta.Count < entries)
                {
                    long id = MetaPage.Count + 5 + rng.NextInt64(pageCount - MetaPage.Count - 5);
                    int length = rng.Next(1, 4);
                    bool free = rng.Next(2) == 0;
                    for (long p = id; p < Math.Min(id + length, pageCount); p++) delta[p] = free;
                }
                foreach (var (id, free) in delta) model[id] = free;
                var list = delta.Select(d => FreeMapDelta.Entry(d.Key, d.Value)).ToList();
                FreeMap.WriteDirectory(ctx.Page(5), 5, 1, 1, new long[] { 3, 4 }, list, Ps);
                PageHeader.SetChecksum(ctx.Page(3), Checksum.OfPage(ctx.Page(3), Ps));
                PageHeader.SetChecksum(ctx.Page(4), Checksum.OfPage(ctx.Page(4), Ps));
                PageHeader.SetChecksum(ctx.Page(5), Checksum.OfPage(ctx.Page(5), Ps));

                var directory = FreeMap.ReadDirectory(ctx, 5, 1);
                Assert.Equal(new long[] { 3, 4 }, directory.Bitmaps);
                Assert.Equal(list, directory.Delta);
                var read = new bool[pageCount];
                long lastEnd = -1;
                FreeMap.ReadFree(ctx, directory, (start, length) =>
                {
                    Assert.True(start > lastEnd, $"run {start}+{length} is not maximal or not ascending (previous ended at {lastEnd})");
                    for (long p = start; p < start + length; p++) read[p] = true;
                    lastEnd = start + length;
                });
                Assert.Equal(model, read);
                for (long id = MetaPage.Count; id < pageCount; id += 7)
                    Assert.Equal(model[id], FreeMap.IsFree(b, ctx.Page(5), Ps, id));
                foreach (var (id, _) in delta) Assert.Equal(model[id], FreeMap.IsFree(b, ctx.Page(5), Ps, id));
            }
        }
    }

    public static TheoryData<string, long[]> BadDeltas => new()
    {
        { "descending", new[] { FreeMapDelta.Entry(12, true), FreeMapDelta.Entry(11, true) } },
        { "duplicate", new[] { FreeMapDelta.Entry(11, true), FreeMapDelta.Entry(11, false) } },
        { "a meta page", new[] { FreeMapDelta.Entry(1, true) } },
        { "past the page count", new[] { FreeMapDelta.Entry(11, false), FreeMapDelta.Entry(20, true) } },
    };

    [Theory]
    [MemberData(nameof(BadDeltas))]
    public void ReadDirectory_BadDeltaEntries_ThrowCorruptDatabase(string what, long[] entries)
    {
        _ = what;
        var mem = new byte[20 * Ps];
        fixed (byte* b = mem)
        {
            var ctx = new PageContext(b, Ps, 20);
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9 }, entries.ToList(), Ps);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), Ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
        }
    }

    [Fact]
    public void ReadDirectory_DeltaCountBeyondTheRunOrPayload_ThrowsCorruptDatabase()
    {
        var mem = new byte[20 * Ps];
        fixed (byte* b = mem)
        {
            var ctx = new PageContext(b, Ps, 20);
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9 }, new List<long> { FreeMapDelta.Entry(11, true) }, Ps);
            byte* count = ctx.Page(6) + PageHeader.Size + FreeMap.CountSize + FreeMap.IdSize;
            Unsafe(count, 1_000); // more entries than one page holds
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), Ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            Unsafe(count, 2); // fits the run, but not the payload length the header gives
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), Ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            Unsafe(count, -1);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), Ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            Unsafe(count, 1);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), Ps));
            Assert.Single(FreeMap.ReadDirectory(ctx, 6, 1).Delta);
        }

        static void Unsafe(byte* at, long value) => System.Runtime.CompilerServices.Unsafe.WriteUnaligned(at, value);
    }

    /// <summary>
    /// Many small commits keep the bitmap pages (only the directory is rewritten) while the checker finds the map
    /// exact after each; a commit that frees more pages than the delta holds folds it into the bitmaps.
    /// </summary>
    [Fact]
    public void SmallCommits_KeepTheBitmaps_AndALargeOneFoldsTheDelta()
    {
        using var dir = new TempDir();
        string path = dir.File();
        var options = new KvOptions { Durability = Durability.Immediate };
        using (var db = KvDatabase.Open(path, options))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 20_000; i++) tx.Put(TestData.Key(i), TestData.Value(i, 100));
                tx.Commit();
            }
        }
        var (bitmaps, delta) = NewestMap(path);
        Assert.Empty(delta); // the load folded: a commit that changes thousands of pages writes the bitmaps

        int kept = 0, grew = 0;
        for (int round = 0; round < 30; round++)
        {
            using (var db = KvDatabase.Open(path, options))
            {
                using (var tx = db.BeginWrite())
                {
                    tx.Put(TestData.Key(round * 613 % 20_000), TestData.Value(round, 120));
                    tx.Commit();
                }
                AssertMapExact(db);
            }
            var (b, d) = NewestMap(path);
            if (b.SequenceEqual(bitmaps)) kept++;
            if (d.Length > 0) grew++;
            bitmaps = b;
        }
        Assert.Equal(30, kept); // a one-put commit never rewrites a bitmap page
        Assert.Equal(30, grew);

        using (var db = KvDatabase.Open(path, options))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 20_000; i += 2) tx.Delete(TestData.Key(i)); // frees hundreds of leaves
                tx.Commit();
            }
            AssertMapExact(db);
        }
        var (after, afterDelta) = NewestMap(path);
        Assert.Empty(afterDelta);
        Assert.False(after.SequenceEqual(bitmaps), "the fold shadows the bitmap page");

        using (var db = KvDatabase.Open(path, options with { ReadOnly = true }))
        {
            AssertMapExact(db);
            Assert.Equal(10_000, db.GetStats().Main.Entries);
        }
    }

    /// <summary>
    /// Deferred commits that each free a few distinct pages, which stay free (no flush makes them reusable, R2), make
    /// the delta grow towards its capacity; the commit that would overflow it folds instead, and every state stays
    /// exact.
    /// </summary>
    [Fact]
    public void DeltaAtCapacity_FoldsIntoTheBitmaps()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, new KvOptions { Durability = Durability.Deferred });
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 20_000; i++) tx.Put(TestData.Key(i), TestData.Value(i, 100));
            tx.Commit();
        }
        db.Flush();
        int folds = 0, maxDelta = 0;
        var (bitmaps, _) = NewestMap(db);
        for (int c = 0; c < 200; c++)
        {
            using (var tx = db.BeginWrite())
            {
                for (int k = 0; k < 5; k++) tx.Delete(TestData.Key((c * 97 + k * 4001) % 20_000));
                tx.Commit();
            }
            var (b, d) = NewestMap(db);
            maxDelta = Math.Max(maxDelta, d.Length);
            Assert.True(d.Length <= FreeMap.MaxDeltaEntries(Ps), $"commit {c}: {d.Length} delta entries");
            if (!b.SequenceEqual(bitmaps)) folds++;
            bitmaps = b;
            if (c % 20 == 0) AssertMapExact(db);
        }
        AssertMapExact(db);
        Assert.True(folds >= 1, $"no fold in 200 commits (largest delta {maxDelta})");
        Assert.True(maxDelta > FreeMap.MaxDeltaEntries(Ps) / 2, $"the delta never grew: largest {maxDelta}");
    }

    /// <summary>
    /// With a delta capacity of 0 every commit folds (the map is the bitmaps alone, as in version 4); with 3, commits
    /// fold deltas that are not empty every few commits. Random puts and deletes, some under a long reader: after
    /// each commit the checker finds the map exact, and a reopen sees the same free pages.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(40)]
    public void SmallDeltaCapacity_EveryStateIsExact(int capacity)
    {
        using var dir = new TempDir();
        string path = dir.File();
        var options = new KvOptions { Durability = Durability.Immediate, FreeMapDeltaCapacity = capacity };
        var rng = new Random(capacity);
        int nonEmptyFolds = 0, deltaCommits = 0;
        using (var db = KvDatabase.Open(path, options))
        {
            long[] previousBitmaps = [], previousDelta = [];
            ReadTransaction? reader = null;
            for (int c = 0; c < 150; c++)
            {
                if (c % 25 == 5) reader = db.BeginRead();
                if (c % 25 == 15) { reader?.Dispose(); reader = null; }
                using (var tx = db.BeginWrite())
                {
                    int n = rng.Next(1, c % 10 == 0 ? 200 : 6);
                    for (int i = 0; i < n; i++)
                    {
                        int k = rng.Next(3_000);
                        if (rng.Next(3) == 0) tx.Delete(TestData.Key(k));
                        else tx.Put(TestData.Key(k), TestData.Value(k, rng.Next(10, 300)));
                    }
                    tx.Commit();
                }
                AssertMapExact(db);
                var (b, d) = NewestMap(db);
                Assert.True(d.Length <= capacity, $"commit {c}: {d.Length} delta entries, capacity {capacity}");
                if (previousDelta.Length > 0 && d.Length == 0 && !b.SequenceEqual(previousBitmaps)) nonEmptyFolds++;
                if (d.Length > 0) deltaCommits++;
                (previousBitmaps, previousDelta) = (b, d);
            }
            reader?.Dispose();
        }
        if (capacity == 0) Assert.Equal(0, deltaCommits);
        else
        {
            Assert.True(deltaCommits > 10, $"only {deltaCommits} commits kept a delta");
            if (capacity == 3) Assert.True(nonEmptyFolds >= 5, $"only {nonEmptyFolds} folds of a non-empty delta"); // the seed is fixed: 7
        }
        using (var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true })) AssertMapExact(db);
    }

    /// <summary>
    /// A version 4 file: its directories end after the bitmap ids (no delta section). This build reads it, and its
    /// next commit writes version 5 with a delta.
    /// </summary>
    [Fact]
    public void Version4File_OpensAndIsUpgradedByItsNextCommit()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using (var db = KvDatabase.Open(path, new KvOptions()))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 500; i++) tx.Put(TestData.Key(i), TestData.Value(i, 50));
            tx.Commit(); // the first commit folds: its delta is empty
        }
        TestData.Patch(path, f =>
        {
            int slot = TestData.NewestSlot(f, Ps);
            long first = TestData.MetaField(f, slot, Ps, MetaPage.FreeMapPageOffset);
            fixed (byte* p = f)
            {
                byte* directory = p + first * Ps;
                long count = BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(directory + PageHeader.Size, 8));
                Assert.Equal(0, BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(directory + PageHeader.Size + FreeMap.CountSize + count * FreeMap.IdSize, 8)));
                // Version 4's payload: the count and the ids, nothing after.
                PageHeader.SetUpper(directory, (uint)(FreeMap.CountSize + count * FreeMap.IdSize));
                PageHeader.SetChecksum(directory, Checksum.OfPage(directory, Ps));
                Assert.Empty(FreeMap.ReadDirectory(new PageContext(p, Ps, f.Length / Ps), first, 1).Delta);
            }
            TestData.ResealCommitList(f, slot, Ps);
            for (int s = 0; s < 2; s++) TestData.SetMetaVersion(f, s, Ps, 4);
        });
        using (var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true }))
        {
            AssertMapExact(db);
            Assert.Equal(500, db.GetStats().Main.Entries);
        }
        using (var db = KvDatabase.Open(path, new KvOptions { Durability = Durability.Immediate }))
        {
            using (var tx = db.BeginWrite())
            {
                tx.Put(TestData.Key(7), "upgraded"u8);
                tx.Commit();
            }
            AssertMapExact(db);
        }
        byte[] file = File.ReadAllBytes(path);
        int newest = TestData.NewestSlot(file, Ps);
        Assert.Equal(MetaPage.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(newest * Ps + MetaPage.VersionOffset)));
        Assert.NotEmpty(NewestMap(path).Delta);
        using (var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true }))
        {
            AssertMapExact(db);
            using var r = db.BeginRead();
            Assert.True(r.TryGet(TestData.Key(7), out var value));
            Assert.Equal("upgraded"u8.ToArray(), value.ToArray());
        }
    }

    private static void AssertMapExact(KvDatabase db)
    {
        var report = db.Check();
        Assert.True(report.IsValid, string.Join("; ", report.Problems));
        Assert.Equal(report.FreePages, db.GetStats().FreePages);
    }

    private static (long[] Bitmaps, long[] Delta) NewestMap(string path) => MapOf(File.ReadAllBytes(path));

    private static (long[] Bitmaps, long[] Delta) NewestMap(KvDatabase db)
    {
        using var copy = new MemoryStream(); // a page-for-page copy of the newest commit: the same map
        db.CopyTo(copy);
        return MapOf(copy.ToArray());
    }

    private static (long[] Bitmaps, long[] Delta) MapOf(byte[] file)
    {
        int slot = TestData.NewestSlot(file, Ps);
        fixed (byte* p = file)
        {
            var meta = MetaPage.TryRead(p + slot * Ps, file.Length, out string? problem, out _) ?? throw new InvalidOperationException(problem);
            var map = FreeMap.ReadDirectory(new PageContext(p, Ps, meta.PageCount), meta.FreeMapPage, meta.FreeMapPages);
            return (map.Bitmaps, map.Delta);
        }
    }
}
