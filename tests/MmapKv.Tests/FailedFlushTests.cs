using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// A failed msync or fsync: the commit throws StorageFailedException, writes are refused until reopen and Flush keeps failing.
/// </summary>
public class FailedFlushTests
{
    /// <summary>Real mapped storage whose flushes can be made to fail, as msync does on EIO.</summary>
    private sealed class FailingStorage(string path, long capacity) : ForwardingStorage(path, capacity)
    {
        public bool FailFlush;
        public override void Flush(long offset, long length)
        {
            if (FailFlush) throw new StorageFailedException("simulated msync failure", 5);
            base.Flush(offset, length);
        }
        public override void StartWriteback(long offset, long length)
        {
            if (FailFlush) throw new StorageFailedException("simulated StartWriteback failure", 5);
            base.StartWriteback(offset, length);
        }
        public override void SyncData()
        {
            if (FailFlush) throw new StorageFailedException("simulated fdatasync failure", 5);
            base.SyncData();
        }
        public override void Sync()
        {
            if (FailFlush) throw new StorageFailedException("simulated fsync failure", 5);
            base.Sync();
        }
    }

    [Fact]
    public void Commit_WhenFlushFails_ThrowsStorageFailedAndRefusesWritesUntilReopened()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        var options = new KvOptions();
        var storage = new FailingStorage(dir.File(), options.MaxSize);
        using (var db = KvDatabase.Open(dir.File(), storage, options))
        {
            using (var tx = db.BeginWrite())
            {
                tx.Put("durable"u8, "1"u8);
                tx.Commit();
            }
            storage.FailFlush = true;
            using (var tx = db.BeginWrite())
            {
                tx.Put("unknown"u8, "2"u8);
                Assert.Throws<StorageFailedException>(() => tx.Commit());
            }
            // Writes are refused; reads of committed data keep working.
            Assert.Throws<StorageFailedException>(() => db.BeginWrite());
            Assert.Equal(1, db.DurableTxnId);
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("durable"u8, out var v));
                Assert.Equal("1", Bytes.Str(v));
            }
            Assert.True(db.Check().IsValid);
            storage.FailFlush = false; // even once the device recovers, the poisoned instance stays read-only
            Assert.Throws<StorageFailedException>(() => db.BeginWrite());
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
                Assert.True(tx.TryGet("durable"u8, out _));
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            using (var tx = db.BeginWrite())
            {
                tx.Put("again"u8, "3"u8);
                tx.Commit();
            }
        }
    }

    /// <summary>
    /// Regression: Flush() targeted "the pending commit", which a failed flush had already taken from the queue,
    /// so a second Flush() returned success for commits that were never made durable. It now targets the newest
    /// commit handed over and keeps failing. After a failed flush, the commits it carried are not durable.
    /// </summary>
    [Fact]
    public void Flush_AfterAFailedFlush_KeepsThrowingStorageFailed()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        var options = new KvOptions { Durability = Durability.Deferred };
        var storage = new FailingStorage(dir.File(), options.MaxSize);
        using var db = KvDatabase.Open(dir.File(), storage, options);
        using (var tx = db.BeginWrite())
        {
            tx.Put("deferred"u8, "1"u8);
            tx.Commit();
        }
        Assert.Equal(1, db.LastTxnId);
        Assert.Equal(0, db.DurableTxnId);
        storage.FailFlush = true;
        Assert.Throws<StorageFailedException>(() => db.Flush());
        storage.FailFlush = false;
        Assert.Equal(0, db.DurableTxnId); // commit 1 is still not durable...
        Assert.Throws<StorageFailedException>(() => db.Flush()); // ...so Flush must not claim it is
    }
}
