using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// One test per I/O error path, on the simulated store: EIO from msync (data and meta), fsync (open), and EIO and
/// ENOSPC from fallocate. A failed sync poisons writes until reopen; reads keep working; nothing committed
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
    [InlineData(false, 1)] // the one fdatasync of a listed commit
    [InlineData(true, 1)]  // an ordered commit: the data fdatasync
    [InlineData(true, 2)]  // an ordered commit: the meta fdatasync
    public void Commit_SyncDataFails_ThrowsStorageFailedAndPoisonsWritesUntilReopen(bool ordered, int failingCall)
    {
        var (sim, db) = OpenWithData();
        if (ordered) db.Pipeline.ListCapacity = 0;
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
    public void Flush_SyncDataFails_ForDeferredCommits_ThrowsAndPoisons()
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

    /// <summary>An I/O error (not a full disk) from the allocation says the device is failing: writes stop until reopen (D2).</summary>
    [Fact]
    public void Grow_AllocationFailsWithEio_ThrowsStorageFailedAndPoisons()
    {
        var (sim, db) = OpenWithData();
        sim.Plan = new FaultPlan { FailGrowAt = sim.GrowCalls + 1, WritebackProbability = 0 };
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
        var run = new FailedFlushRun(11);
        // Round 3, committed in order: the data fdatasync succeeds, the meta fdatasync fails and its sectors are
        // lost (clean, unwritten). D5 then retracts the meta from the map as well.
        run.Db.Pipeline.ListCapacity = 0;
        run.FailRound3(flushCallsAhead: 2);
        // Same boot: the page cache still shows round 3's meta. Reopen, then rewrite everything (reusing the pages
        // round 3 freed, which round 2 still references) and lose power in the middle of that commit. Round 4's meta
        // reaches the disk but none of its pages (its list must refuse it): the open falls back to the other slot,
        // whose state must be whole although round 4 reused the pages round 3 freed.
        var (final, round4) = run.ReopenAndCrashRound4();
        // Round 2 was the last acknowledged commit; round 3 was published but not acknowledged; round 4 started.
        var candidates = new List<StateModel> { run.States[1], run.States[2], round4 };
        Assert.NotEqual(2, CrashRunner.VerifyRecovery(final, 4096, candidates, 0, 2));
        final.Release();
    }

    /// <summary>
    /// D5: the one fdatasync of a listed commit fails and every dirty sector is written off as clean, unwritten. The
    /// meta was in the map before the sync, and the page cache still shows the commit's pages, so a reopen in the
    /// same boot would verify the list from the cache and reuse pages the on-disk state needs. The failed flush
    /// retracts the meta, so the reopen opens the older state; a power cut during the next commit then recovers it.
    /// </summary>
    [Fact]
    public void ReopenAfterFailedSyncData_OpensTheOlderState()
    {
        var run = new FailedFlushRun(13);
        long durable = run.Db.DurableTxnId;
        run.FailRound3(flushCallsAhead: 1);
        // Lose every page of round 4 but keep its meta: the list must refuse it, and round 2 must be intact.
        var (final, round4) = run.ReopenAndCrashRound4(db => Assert.Equal(durable, db.LastTxnId)); // not round 3, whose pages are in the cache only
        Assert.Equal(0, CrashRunner.VerifyRecovery(final, 4096, new List<StateModel> { run.States[1], round4 }, 0, 1));
        final.Release();
    }

    /// <summary>
    /// The shape both failed-flush reopen tests share: two acknowledged rounds of 300 puts on simulated storage, a
    /// third whose flush fails with every dirty sector written off as clean, a reopen in the same boot, and a
    /// fourth round that rewrites every key and loses power with only its meta sectors kept.
    /// </summary>
    private sealed class FailedFlushRun
    {
        private readonly SimulatedStorage _sim;
        private readonly KvOptions _options = CrashRunner.Options(4096, Capacity);
        public KvDatabase Db;
        public readonly List<StateModel> States = new();

        public FailedFlushRun(int seed)
        {
            _sim = CrashRunner.NewFormatted(4096, Capacity, seed);
            Db = KvDatabase.Open("sim", _sim, _options);
            Commit(1);
            Commit(2);
        }

        private void Commit(int round, bool expectFailure = false)
        {
            var tx = Db.BeginWrite();
            for (int i = 0; i < 300; i++) tx.Put(CrashRunner.Key(i), CrashRunner.Value(100, round * 1000 + i));
            if (expectFailure) Assert.Throws<StorageFailedException>(() => tx.Commit(Durability.Immediate));
            else tx.Commit(Durability.Immediate);
            using var r = Db.BeginRead();
            States.Add(StateModel.Read(r));
        }

        /// <summary>Round 3: the flush call <paramref name="flushCallsAhead"/> from now fails and loses every dirty sector.</summary>
        public void FailRound3(long flushCallsAhead)
        {
            _sim.Plan = new FaultPlan { FailFlushAt = _sim.FlushCalls + flushCallsAhead, FailureLosesAll = true, WritebackProbability = 0 };
            Commit(3, expectFailure: true);
            try { Db.Dispose(); } catch (StorageFailedException) { }
        }

        /// <summary>Reopens in the same boot, runs round 4 up to a crash, and returns the power-loss image that keeps
        /// only the meta pages' sectors, with the state round 4 would have committed.</summary>
        public (SimulatedStorage Final, StateModel Round4) ReopenAndCrashRound4(Action<KvDatabase>? afterReopen = null)
        {
            var again = _sim.AfterCrash(CrashKind.ProcessKill, 1);
            _sim.Release();
            Db = KvDatabase.Open("sim", again, _options);
            afterReopen?.Invoke(Db);
            again.Plan = new FaultPlan { CrashAt = again.SyncPoints + 1, WritebackProbability = 0 };
            var tx4 = Db.BeginWrite();
            var round4 = States[1].Clone();
            for (int i = 0; i < 300; i++)
            {
                tx4.Put(CrashRunner.Key(i), CrashRunner.Value(100, 4000 + i));
                round4.Tree("")[CrashRunner.Key(i)] = CrashRunner.Value(100, 4000 + i);
            }
            Assert.Throws<SimulatedCrashException>(() => tx4.Commit(Durability.Immediate));
            try { Db.Dispose(); } catch (Exception) { }
            var dirty = again.DirtySectors();
            var final = again.AfterCrash(CrashKind.PowerLoss, 2, i => dirty[i] < 2 * 4096);
            again.Release();
            return (final, round4);
        }
    }
}
