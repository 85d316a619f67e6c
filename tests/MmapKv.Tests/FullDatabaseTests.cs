using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// A database at MaxSize: the failure is a DatabaseFullException, aborts only that transaction and keeps every earlier commit.
/// </summary>
public class FullDatabaseTests
{
    [Fact]
    public async Task Put_PastMaxSize_ThrowsDatabaseFullAndAbortsOnlyThatTransaction()
    {
        using var dir = new TempDir();
        const long maxSize = 256 * 1024;
        var options = new KvOptions { MaxSize = maxSize };
        using (var db = KvDatabase.Open(dir.File(), options))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 20; i++) tx.Put(Key(i), Value(i, 100));
                tx.Commit();
            }

            var full = db.BeginWrite();
            int written = 0;
            Assert.Throws<DatabaseFullException>(() =>
            {
                for (int i = 1000; i < 2000; i++, written++) full.Put(Key(i), Value(i, 3000));
            });
            Assert.InRange(written, 10, 999);

            // The failed transaction is aborted: every further call says so.
            Assert.Throws<InvalidOperationException>(() => full.Put("x"u8, "y"u8));
            Assert.Throws<InvalidOperationException>(() => full.TryGet(Key(0), out _));
            Assert.Throws<InvalidOperationException>(() => full.Delete(Key(0)));
            Assert.Throws<InvalidOperationException>(() => full.OpenCursor());
            Assert.Throws<InvalidOperationException>(() => full.Commit());
            full.Dispose();

            Assert.True(new FileInfo(dir.File()).Length <= maxSize);

            // Committed data is intact; nothing of the failed transaction is visible.
            using (var tx = db.BeginRead())
            {
                Assert.Equal(1, tx.TxnId);
                for (int i = 0; i < 20; i++)
                {
                    Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
                    Assert.True(v.SequenceEqual(Value(i, 100)));
                }
                Assert.False(tx.TryGet(Key(1000), out _));
            }

            // The writer lock was released: a new, smaller write transaction starts and commits.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            using (var tx = await db.BeginWriteAsync(cts.Token))
            {
                for (int i = 100; i < 110; i++) tx.Put(Key(i), Value(i, 200));
                tx.Put(Key(5000), Value(5000, 3000));
                tx.Commit();
            }
            using (var tx = db.BeginRead())
            {
                Assert.Equal(2, tx.TxnId);
                Assert.True(tx.TryGet(Key(105), out var v));
                Assert.True(v.SequenceEqual(Value(105, 200)));
                Assert.True(tx.TryGet(Key(5000), out var big));
                Assert.True(big.SequenceEqual(Value(5000, 3000)));
            }
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.Equal(31, db.GetStats().Main.Entries);
        }
        using (var db = KvDatabase.Open(dir.File(), options))
        {
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.Equal(31, db.GetStats().Main.Entries);
        }
    }

    /// <summary>Commit after commit until the file is full: wherever the space runs out (in a put, or in the commit
    /// writing the free list), the failure is a DatabaseFullException and the database stays consistent.</summary>
    [Theory]
    [InlineData(400)]
    [InlineData(1000)]
    [InlineData(3000)]
    [InlineData(9000)]
    public void Commit_RepeatedUntilFull_ThrowsDatabaseFullAndKeepsEveryEarlierCommit(int valueLength)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 256 * 1024 });
        int committed = 0;
        bool full = false;
        for (int i = 0; i < 10_000 && !full; i++)
        {
            var tx = db.BeginWrite();
            try
            {
                tx.Put(Key(i), Value(i, valueLength));
                tx.Put(Key(i % 7), Value(i, 10)); // rewrite an old key too, so commits free pages
                tx.Commit();
                committed = i + 1;
            }
            catch (DatabaseFullException)
            {
                full = true;
            }
            finally
            {
                tx.Dispose();
            }
        }
        Assert.True(full, "the database never filled up");
        Assert.True(committed > 3, $"only {committed} commits fit");
        Assert.Equal(committed, db.LastTxnId);
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        using (var tx = db.BeginRead())
        {
            for (int i = 7; i < committed; i++)
            {
                Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
                Assert.True(v.SequenceEqual(Value(i, valueLength)), $"value {i}");
            }
            Assert.False(tx.TryGet(Key(committed), out _));
        }
        // Small writes still fit: deleting frees space for them.
        using (var tx = db.BeginWrite())
        {
            for (int i = 7; i < Math.Min(committed, 20); i++) tx.Delete(Key(i));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put("small"u8, "1"u8);
            tx.Commit();
        }
        report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void Put_ValueLargerThanMaxSize_ThrowsDatabaseFull()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 256 * 1024 });
        using (var tx = db.BeginWrite())
        {
            tx.Put("small"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var big = new byte[1 << 20];
            Assert.Throws<DatabaseFullException>(() => tx.Put("big"u8, big));
            Assert.Throws<InvalidOperationException>(() => tx.Commit());
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put("after"u8, "2"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("small"u8, out _));
            Assert.True(tx.TryGet("after"u8, out _));
            Assert.False(tx.TryGet("big"u8, out _));
        }
        Assert.True(db.Check().IsValid);
    }
    /// <summary>
    /// W7: at MaxSize, inserts leave the delete reserve alone even when the pool is where it would come from. A
    /// cache-like churn (delete 8 old keys, insert 8 new ones) of Deferred commits, which quarantine what they free,
    /// once made inserts take the last free pages after deletes had used the file's tail, so that an 8-key delete
    /// found no page at all (88 of 2,000 delete rounds refused). Inserts may be refused; deletes never.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void AtMaxSize_ChurnOfDeferredDeletesAndInserts_NeverRefusesADelete(int fillBatch)
    {
        using var dir = new TempDir();
        var options = new KvOptions { MaxSize = 4 << 20, Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.Zero };
        using var db = KvDatabase.Open(dir.File(), options);
        var model = new SortedSet<int>();
        int next = 0;
        byte[] value = new byte[300];
        Assert.Throws<DatabaseFullException>((Action)(() =>
        {
            while (true)
            {
                using var tx = db.BeginWrite();
                for (int b = 0; b < fillBatch; b++) tx.Put(Spread(next + b), value);
                tx.Commit();
                for (int b = 0; b < fillBatch; b++) model.Add(next + b);
                next += fillBatch;
            }
        }));
        next += fillBatch;
        int oldest = 0, insertsRefused = 0;
        for (int round = 0; round < 2000; round++)
        {
            using (var tx = db.BeginWrite()) // must never be refused
            {
                for (int k = 0; k < 8; k++, oldest++) tx.Delete(Spread(oldest));
                tx.Commit();
            }
            for (int k = oldest - 8; k < oldest; k++) model.Remove(k);
            try
            {
                using var tx = db.BeginWrite();
                for (int k = 0; k < 8; k++) tx.Put(Spread(next + k), value);
                tx.Commit();
                for (int k = 0; k < 8; k++) model.Add(next + k);
            }
            catch (DatabaseFullException) { insertsRefused++; }
            next += 8;
        }
        Assert.InRange(insertsRefused, 0, 1999); // inserts still run at MaxSize
        Assert.Equal(model.Count, (int)db.GetStats().TotalEntries);
        using (var r = db.BeginRead())
            foreach (int k in model) Assert.True(r.TryGet(Spread(k), out _), $"key {k}");
        var report = db.Check();
        Assert.True(report.IsValid, string.Join("; ", report.Problems));
    }

    /// <summary>The i-th key of a sequence spread over the whole key space, so each batch touches many leaves.</summary>
    private static byte[] Spread(int i) => Key((int)((long)i * 7919 % 1_000_003));
}
