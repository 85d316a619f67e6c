using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The free-space map: bitmap and directory sizes, bits read back as runs, and directory validation.
/// </summary>
public unsafe class FreeMapTests
{
    private readonly ITestOutputHelper _output;

    public FreeMapTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void FreeMap_Sizes_FollowFromThePageSize()
    {
        Assert.Equal((4096 - 32) * 8, FreeMap.BitsPerPage(4096));
        Assert.Equal(0, FreeMap.BitmapsFor(4096, 0));
        Assert.Equal(1, FreeMap.BitmapsFor(4096, 2));
        Assert.Equal(1, FreeMap.BitmapsFor(4096, FreeMap.BitsPerPage(4096)));
        Assert.Equal(2, FreeMap.BitmapsFor(4096, FreeMap.BitsPerPage(4096) + 1));
        // A directory's payload: the bitmap count and ids, then the delta count and entries.
        int perPage = (4096 - PageHeader.Size - 2 * FreeMap.CountSize) / FreeMap.IdSize;
        Assert.Equal(1, FreeMap.DirectoryPagesFor(4096, perPage));
        Assert.Equal(2, FreeMap.DirectoryPagesFor(4096, perPage + 1));
        Assert.Equal(1, FreeMap.DirectoryPagesFor(4096, perPage - 10, 10));
        Assert.Equal(2, FreeMap.DirectoryPagesFor(4096, perPage - 10, 11));
        Assert.Equal(256, FreeMap.MaxDeltaEntries(4096));
    }

    /// <summary>Bits set for a random set of pages read back as exactly the maximal runs of that set.</summary>
    [Fact]
    public void FreeMap_SetBitsThenReadFree_GivesMaximalRunsOfTheSet()
    {
        const int ps = 4096;
        int seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        long bitsPer = FreeMap.BitsPerPage(ps);
        long pageCount = bitsPer + 5000; // two bitmap pages
        var mem = new byte[3 * ps];
        fixed (byte* b = mem)
        {
            var free = new SortedSet<long>();
            for (int i = 0; i < 3000; i++) free.Add(rng.NextInt64(2, pageCount));
            for (long i = 100; i < 140; i++) free.Add(i); // a long run
            free.Remove(7); // page 7 is set and cleared below
            FreeMap.InitBitmap(b, 0, 1, ps);
            FreeMap.InitBitmap(b + ps, 1, 1, ps);
            foreach (long id in free) FreeMap.SetBit(b + (id / bitsPer) * ps, id % bitsPer, true);
            FreeMap.SetBit(b, 7, true);
            FreeMap.SetBit(b, 7, false); // clearing works too
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            PageHeader.SetChecksum(b + ps, Checksum.OfPage(b + ps, ps));
            // Pages 0 and 1 of this buffer are the two bitmaps; reach them through a context over a large "file".
            var ctx = new PageContext(b, ps, pageCount);
            var runs = new List<(long, long)>();
            FreeMap.ReadFree(ctx, new FreeMapDirectory(new long[] { 0, 1 }, []), (s, l) => runs.Add((s, l)));
            var expected = new List<(long, long)>();
            foreach (long id in free)
            {
                if (expected.Count > 0 && expected[^1].Item1 + expected[^1].Item2 == id) expected[^1] = (expected[^1].Item1, expected[^1].Item2 + 1);
                else expected.Add((id, 1));
            }
            Assert.Equal(expected, runs);

            // A bit for a meta page, or one past the page count, is corruption.
            FreeMap.SetBit(b, 1, true);
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(ctx, new FreeMapDirectory(new long[] { 0, 1 }, []), (_, _) => { }));
            FreeMap.SetBit(b, 1, false);
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            var shorter = new PageContext(b, ps, bitsPer + 10);
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(shorter, new FreeMapDirectory(new long[] { 0, 1 }, []), (_, _) => { }));
            // A flipped bit fails the checksum.
            b[ps + 100] ^= 1;
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(ctx, new FreeMapDirectory(new long[] { 0, 1 }, []), (_, _) => { }));
        }
    }

    [Fact]
    public void FreeMap_Directory_RoundTripsAndRejectsBadHeaders()
    {
        const int ps = 4096;
        var mem = new byte[20 * ps];
        fixed (byte* b = mem)
        {
            var ctx = new PageContext(b, ps, 20);
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9 }, [], ps);
            // Unsealed: the writer trusts the map, so a directory without its checksum is refused.
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Equal(new long[] { 9 }, FreeMap.ReadDirectory(ctx, 6, 1).Bitmaps);
            Assert.Empty(FreeMap.ReadDirectory(ctx, 0, 0).Bitmaps);
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 2)); // run length differs
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 7, 1)); // not a directory
            // A bitmap id outside the file.
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 25 }, [], ps);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            // The wrong number of bitmaps for the file's page count.
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9, 10 }, [], ps);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
        }
    }
}
