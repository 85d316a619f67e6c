using MmapKv.Format;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Growth syncs nothing (S2): the commit that uses the new range makes the length durable with its own flush
/// (docs/durability.md §5.1). A crash in that flush may leave the meta on disk but the file at its old length; the
/// meta's page count then passes the file (M2), so the open refuses it and opens the previous commit.
/// </summary>
public class GrowthDurabilityTests
{
    // Values of 290 pages: a commit of one grows the file and, once the delete reserve past the pages in use is less
    // than that, writes pages past the old length; yet it lists its pages (fewer than CommitList.Capacity), so it has
    // one flush.
    private const long Capacity = 4 << 20; // a delete reserve of 128 pages (an eighth of MaxSize)
    private const int Big = 290 * 4096;

    private static (SimulatedStorage Sim, KvDatabase Db) OpenWithBase()
    {
        var sim = CrashRunner.NewFormatted(4096, Capacity, 11);
        var db = KvDatabase.Open("sim", sim, CrashRunner.Options(4096, Capacity));
        using var tx = db.BeginWrite();
        for (int i = 0; i < 50; i++) tx.Put(CrashRunner.Key(i), CrashRunner.Value(40, i));
        tx.Commit(Durability.Immediate);
        sim.Plan = new FaultPlan { WritebackProbability = 0 };
        return (sim, db);
    }

    private static byte[] BigKey(int i) => Bytes.Of($"big:{i:D5}");

    private static void PutBig(KvDatabase db, int i)
    {
        using var tx = db.BeginWrite();
        tx.Put(BigKey(i), CrashRunner.Value(Big, i));
        tx.Commit(Durability.Immediate);
    }

    [Fact]
    public void CommitThatGrowsTheFile_MakesTheLengthDurableWithItsOwnFlush_AndNoOtherSync()
    {
        var (sim, db) = OpenWithBase();
        using (db)
        {
            long length = sim.Length;
            int i = 0;
            while (sim.Length == length)
            {
                Assert.False(sim.LengthPending);
                long syncs = sim.SyncCalls, flushes = sim.FlushCalls;
                PutBig(db, i++);
                Assert.Equal(syncs, sim.SyncCalls);            // no fsync, for growth or anything else
                Assert.Equal(flushes + 1, sim.FlushCalls);     // the commit's one fdatasync, growth or not
                Assert.True(i < 2000, "the file never grew");
            }
            Assert.False(sim.LengthPending); // the growing commit's fdatasync made the length durable
        }
    }

    /// <summary>
    /// The flush of the commit that grew the file crashes; the power loss keeps every sector written (the meta
    /// among them) and either loses the new length or keeps it. Lost: the meta names pages past the file, is
    /// refused, and the previous commit opens; the refused record is overwritten before any page is reused (D4),
    /// so it never comes back. Kept: the commit is whole on disk and opens.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CrashInTheGrowingCommitsFlush_WithTheMetaOnDisk_OpensACommittedState(bool lengthReached)
    {
        var (sim, db) = OpenWithBase();
        long baseTxn = db.GetStats().TxnId;
        sim.BeforeFlush = _ =>
        {
            // Crash inside the first flush whose meta (written by now) names pages past the length on disk.
            if (sim.Plan.CrashAt == 0 && NewestRecord(sim).PageCount * 4096 > sim.DurableLength) sim.Plan.CrashAt = sim.SyncPoints + 1;
        };
        long grownTo = 0;
        int acked = 0;
        Assert.Throws<SimulatedCrashException>(() =>
        {
            for (; acked < 2000; acked++)
            {
                long before = sim.Length;
                try { PutBig(db, acked); }
                finally { if (sim.Length > before) grownTo = sim.Length; }
            }
        });
        Assert.True(grownTo > 0, "the crash was not in a growing commit");
        Assert.True(sim.LengthPending);
        try { db.Dispose(); } catch (SimulatedCrashException) { }
        long crashedTxn = baseTxn + acked + 1;

        var after = sim.AfterCrash(CrashKind.PowerLoss, 5, persist: _ => true, lengthReached: lengthReached);
        try
        {
            if (lengthReached) Assert.Equal(grownTo, after.Length);
            else Assert.True(after.Length < grownTo);
            var newest = NewestRecord(after);
            Assert.Equal(crashedTxn, newest.TxnId); // the crashed commit's meta is on disk
            // Lost length: that meta names pages past the file (M2 fails). Else the file holds them all.
            Assert.Equal(!lengthReached, newest.PageCount * 4096 > after.Length);
            using (var reopened = KvDatabase.Open("sim", after, CrashRunner.Options(4096, Capacity)))
            {
                Assert.True(reopened.Check().IsValid);
                using (var read = reopened.BeginRead())
                {
                    for (int i = 0; i < 50; i++) Assert.True(read.TryGet(CrashRunner.Key(i), out _), $"base key {i} lost");
                    for (int i = 0; i < acked; i++) Assert.True(read.TryGet(BigKey(i), out _), $"acknowledged commit {i} lost");
                    Assert.Equal(lengthReached, read.TryGet(BigKey(acked), out _));
                }
                using var tx = reopened.BeginWrite();
                tx.Put("after"u8, "1"u8);
                tx.Commit(Durability.Immediate);
            }
            var again = after.AfterCrash(CrashKind.PowerLoss, 6, persist: _ => true);
            try
            {
                using var third = KvDatabase.Open("sim", again, CrashRunner.Options(4096, Capacity));
                Assert.True(third.Check().IsValid);
                using var read = third.BeginRead();
                Assert.True(read.TryGet("after"u8, out _));
                Assert.Equal(lengthReached, read.TryGet(BigKey(acked), out _));
            }
            finally { again.Release(); }
        }
        finally
        {
            after.Release();
            sim.Release();
        }
    }

    /// <summary>The newer of the two slots' records, read without holding it against the file's length.</summary>
    private static unsafe MetaRecord NewestRecord(SimulatedStorage storage)
    {
        var a = MetaPage.TryRead(storage.Base, long.MaxValue, out _, out _);
        var b = MetaPage.TryRead(storage.Base + 4096, long.MaxValue, out _, out _);
        return a is { } x && (b is not { } y || x.TxnId > y.TxnId) ? x : b!.Value;
    }
}
