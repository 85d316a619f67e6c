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
        sim.Plan = new FaultPlan { NoSpaceAtGrow = sim.GrowCalls + 1, WritebackProbability = 0 };
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
