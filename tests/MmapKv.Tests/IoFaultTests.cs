using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// One test per I/O error path, on the simulated store: EIO from msync (data and meta), fsync (open and growth),
/// and ENOSPC from fallocate. A failed sync poisons writes until reopen; reads keep working; nothing committed
/// before the failure is lost; running out of space aborts only the transaction that needed it.
/// </summary>
public class IoFaultTests
{
    private const long Capacity = 8 << 20;

    private static (SimulatedStorage Sim, KvDatabase Db) OpenWithData()
    {
        var sim = CrashRunner.NewFormatted(4096, Capacity, 1);
        var db = KvDatabase.Open("sim", sim, CrashRunner.Options(4096, Capacity));
        using var tx = db.BeginWrite();
        for (int i = 0; i < 100; i++) tx.Put(CrashRunner.Key(i), CrashRunner.Value(50, i));
        tx.Commit();
        return (sim, db);
    }

    private static void AssertCommittedDataReadable(KvDatabase db)
    {
        using var tx = db.BeginRead();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(tx.TryGet(CrashRunner.Key(i), out var v));
            Assert.True(v.SequenceEqual(CrashRunner.Value(50, i)));
        }
    }

    /// <summary>After a reopen (the process restarted, page cache intact or not), the file is whole and holds the first 100 keys.</summary>
    private static void AssertRecovers(SimulatedStorage sim, CrashKind kind)
    {
        var after = sim.AfterCrash(kind, 3);
        using var db = KvDatabase.Open("sim", after, CrashRunner.Options(4096, Capacity));
        Assert.True(db.Check().IsValid);
        AssertCommittedDataReadable(db);
        using var tx = db.BeginWrite(); // writable again after reopen
        tx.Put("again"u8, "x"u8);
        tx.Commit();
    }

    [Theory]
    [InlineData(1)] // the data msync
    [InlineData(2)] // the meta msync
    public void Commit_MsyncFails_ThrowsStorageFailedAndPoisonsWritesUntilReopen(int failingCall)
    {
        var (sim, db) = OpenWithData();
        sim.Plan = new FaultPlan { FailFlushAt = sim.FlushCalls + failingCall, WritebackProbability = 0 };
        var tx = db.BeginWrite();
        tx.Put("doomed"u8, "v"u8);
        Assert.Throws<StorageFailedException>(() => tx.Commit(Durability.Immediate));
        Assert.Throws<StorageFailedException>(() => db.BeginWrite());
        Assert.Throws<StorageFailedException>(() => db.Flush());
        AssertCommittedDataReadable(db);
        Assert.True(db.Check().IsValid);
        try { db.Dispose(); } catch (StorageFailedException) { }
        AssertRecovers(sim, CrashKind.ProcessKill);
        AssertRecovers(sim, CrashKind.PowerLoss);
    }

    [Fact]
    public void Flush_MsyncFails_ForDeferredCommits_ThrowsAndPoisons()
    {
        var (sim, db) = OpenWithData();
        sim.Plan.FailFlushAt = sim.FlushCalls + 1;
        using (var tx = db.BeginWrite())
        {
            tx.Put("deferred"u8, "v"u8);
            tx.Commit(Durability.Deferred);
        }
        Assert.Throws<StorageFailedException>(() => db.Flush());
        Assert.Throws<StorageFailedException>(() => db.Flush()); // stays failed: never reports durability it lacks
        Assert.Throws<StorageFailedException>(() => db.BeginWrite());
        AssertCommittedDataReadable(db);
        try { db.Dispose(); } catch (StorageFailedException) { }
        AssertRecovers(sim, CrashKind.PowerLossWithGarbage);
    }

    [Fact]
    public void Open_FsyncFails_ThrowsStorageFailed_AndALaterOpenWorks()
    {
        var (sim, db) = OpenWithData();
        db.Dispose();
        sim.Plan = new FaultPlan { FailSyncAt = sim.SyncCalls + 1, WritebackProbability = 0 };
        Assert.Throws<StorageFailedException>(() => KvDatabase.Open("sim", sim, CrashRunner.Options(4096, Capacity)));
        AssertRecovers(sim, CrashKind.ProcessKill);
    }

    [Fact]
    public void Grow_NoSpace_ThrowsDatabaseFull_AbortsOnlyThatTransaction()
    {
        var (sim, db) = OpenWithData();
        // The device is full from here on: every growth gets ENOSPC (a single ENOSPC is retried with a smaller
        // step, see Grow_NoSpaceOnce_IsRetriedWithASmallerStep).
        sim.DeviceBytes = sim.Length;
        var tx = db.BeginWrite();
        Assert.Throws<DatabaseFullException>(() =>
        {
            for (int i = 0; i < 5000; i++) tx.Put(CrashRunner.Key(1000 + i), new byte[500]);
        });
        Assert.Throws<InvalidOperationException>(() => tx.Put("more"u8, "x"u8)); // the transaction was aborted
        tx.Dispose();
        AssertCommittedDataReadable(db);
        using (var again = db.BeginWrite()) // not poisoned: out of space is not an I/O failure
        {
            again.Put("small"u8, "x"u8);
            again.Commit();
        }
        Assert.True(db.Check().IsValid);
        db.Dispose();
        AssertRecovers(sim, CrashKind.PowerLoss);
    }

    /// <summary>One refused growth is not a full disk: the growth path asks again for less (docs/durability.md §5.1).</summary>
    [Fact]
    public void Grow_NoSpaceOnce_IsRetriedWithASmallerStep()
    {
        var (sim, db) = OpenWithData();
        sim.Plan = new FaultPlan { NoSpaceAtGrow = sim.GrowCalls + 1, WritebackProbability = 0 };
        long calls = sim.GrowCalls;
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 5000; i++) tx.Put(CrashRunner.Key(1000 + i), new byte[500]);
            tx.Commit();
        }
        Assert.True(sim.GrowCalls >= calls + 2, "the refused growth was not retried");
        AssertCommittedDataReadable(db);
        Assert.True(db.Check().IsValid);
        db.Dispose();
        AssertRecovers(sim, CrashKind.PowerLoss);
    }

    [Fact]
    public void Grow_FsyncFails_ThrowsStorageFailedAndPoisons()
    {
        var (sim, db) = OpenWithData();
        sim.Plan = new FaultPlan { FailGrowSyncAt = sim.GrowCalls + 1, WritebackProbability = 0 };
        var tx = db.BeginWrite();
        Assert.Throws<StorageFailedException>(() =>
        {
            for (int i = 0; i < 5000; i++) tx.Put(CrashRunner.Key(1000 + i), new byte[500]);
        });
        tx.Dispose();
        Assert.Throws<StorageFailedException>(() => db.BeginWrite());
        AssertCommittedDataReadable(db);
        try { db.Dispose(); } catch (StorageFailedException) { }
        AssertRecovers(sim, CrashKind.PowerLoss);
    }
}

/// <summary>Holes found by analysing the protocol against Linux's handling of writeback errors (docs/durability.md).</summary>
public class WritebackErrorRegressionTests
{
    private const long Capacity = 8 << 20;

    /// <summary>
    /// Regression: the poison check ran before waiting for the flush lock, so a committer queued behind a flush
    /// that failed went on to write its own meta record, which references pages of the failed batch that the
    /// kernel may have written off as clean without writing them. Now checked under the flush lock.
    /// </summary>
    [Fact]
    public void CommitQueuedBehindAFailedFlush_DoesNotWriteAMeta()
    {
        var sim = CrashRunner.NewFormatted(4096, Capacity, 7);
        var db = KvDatabase.Open("sim", sim, CrashRunner.Options(4096, Capacity));
        using (var tx = db.BeginWrite()) { tx.Put("base"u8, "v"u8); tx.Commit(); }
        long durableBefore = db.DurableTxnId;
        Task? second = null;
        long failingCall = sim.FlushCalls + 1;
        sim.Plan = new FaultPlan { FailFlushAt = failingCall, WritebackProbability = 0 };
        sim.BeforeFlush = call =>
        {
            if (call != failingCall) return;
            // First committer holds the flush lock; a second commits in memory and queues for the lock.
            long first = db.LastTxnId;
            second = Task.Run(() =>
            {
                using var tx = db.BeginWrite();
                tx.Put("second"u8, "v"u8);
                tx.Commit(Durability.Immediate);
            });
            SpinWait.SpinUntil(() => db.LastTxnId > first, 5000);
            Thread.Sleep(100); // let it reach the flush lock
        };
        var tx1 = db.BeginWrite();
        tx1.Put("first"u8, "v"u8);
        Assert.Throws<StorageFailedException>(() => tx1.Commit(Durability.Immediate));
        Assert.NotNull(second);
        var e = Assert.ThrowsAny<Exception>(() => second!.GetAwaiter().GetResult());
        Assert.IsType<StorageFailedException>(e);
        Assert.Equal(durableBefore, db.DurableTxnId);
        sim.BeforeFlush = null;
        try { db.Dispose(); } catch (StorageFailedException) { }
        sim.Release();
    }

    /// <summary>
    /// Regression: after a failed meta msync the kernel can hold the meta page as clean though it never reached the
    /// disk. A reopen in the same boot selected that meta, its fsync wrote nothing, and the new process reused pages
    /// the on-disk meta still referenced; a power cut then recovered a damaged tree. The open now rewrites the
    /// chosen meta record before its fsync, so the opened state is really durable.
    /// </summary>
    [Fact]
    public void ReopenAfterFailedMetaMsync_MakesTheOpenedStateDurable()
    {
        var sim = CrashRunner.NewFormatted(4096, Capacity, 11);
        var options = CrashRunner.Options(4096, Capacity);
        var states = new List<StateModel>();
        var db = KvDatabase.Open("sim", sim, options);
        void Commit(int round, bool expectFailure = false)
        {
            var tx = db.BeginWrite();
            for (int i = 0; i < 300; i++) tx.Put(CrashRunner.Key(i), CrashRunner.Value(100, round * 1000 + i));
            if (expectFailure) Assert.Throws<StorageFailedException>(() => tx.Commit(Durability.Immediate));
            else tx.Commit(Durability.Immediate);
            using var r = db.BeginRead();
            states.Add(StateModel.Read(r));
        }
        Commit(1);
        Commit(2);
        // Round 3: the data msync succeeds, the meta msync fails and its sectors are lost (clean, unwritten).
        sim.Plan = new FaultPlan { FailFlushAt = sim.FlushCalls + 2, FailureLosesAll = true, WritebackProbability = 0 };
        Commit(3, expectFailure: true);
        try { db.Dispose(); } catch (StorageFailedException) { }

        // Same boot: the page cache still shows round 3's meta. Reopen, then rewrite everything (reusing the pages
        // round 3 freed, which round 2 still references) and lose power in the middle of that commit.
        var again = sim.AfterCrash(CrashKind.ProcessKill, 1);
        sim.Release();
        db = KvDatabase.Open("sim", again, options);
        again.Plan = new FaultPlan { CrashAt = again.SyncPoints + 1, WritebackProbability = 0 };
        var tx4 = db.BeginWrite();
        for (int i = 0; i < 300; i++) tx4.Put(CrashRunner.Key(i), CrashRunner.Value(100, 4000 + i));
        Assert.Throws<SimulatedCrashException>(() => tx4.Commit(Durability.Immediate));
        try { db.Dispose(); } catch (Exception) { }
        var final = again.AfterCrash(CrashKind.PowerLoss, 2, _ => true);
        again.Release();
        // Round 2 was the last acknowledged commit; round 3 was published (and opened) but not acknowledged.
        var candidates = new List<StateModel> { states[1], states[2] };
        CrashRunner.VerifyRecovery(final, 4096, candidates, 0, 1);
        final.Release();
    }
}
