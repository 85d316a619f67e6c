using Xunit;

namespace MmapKv.Tests;

public class CommitModeTests(ITestOutputHelper output)
{
    /// <summary>Concurrent Immediate committers share flushes: fewer flushes than commits, and every commit durable on return.</summary>
    [Fact]
    public async Task GroupCommit_ConcurrentCommittersShareFlushes()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        const int threads = 4, perThread = 250;
        long flushesBefore = db.Pipeline.FlushCount;
        var tasks = Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < perThread; i++)
            {
                using var tx = await db.BeginWriteAsync();
                tx.Put(Bytes.Of($"t{t}:{i:D5}"), Bytes.Of("v"));
                long id = tx.TxnId;
                await tx.CommitAsync(Durability.Immediate);
                Assert.True(db.DurableTxnId >= id, "CommitAsync returned before its commit was durable");
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        AssertFlushesShared(db, flushesBefore, threads * perThread);
    }

    /// <summary>
    /// Synchronous Immediate committers on their own threads, in a loop (the shape group commit's gathering waits
    /// for, CommitPipeline.Gather): fewer flushes than commits, every commit durable on return, nothing lost.
    /// </summary>
    [Fact]
    public void GroupCommit_SynchronousCommittersInALoopShareFlushes()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        const int threads = 4, perThread = 200;
        long flushesBefore = db.Pipeline.FlushCount;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                for (int i = 0; i < perThread; i++)
                {
                    using var tx = db.BeginWrite();
                    tx.Put(Bytes.Of($"t{t}:{i:D5}"), Bytes.Of("v"));
                    long id = tx.TxnId;
                    tx.Commit(Durability.Immediate);
                    if (db.DurableTxnId < id) throw new Xunit.Sdk.XunitException($"commit {id} returned before it was durable");
                }
            }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        Assert.Empty(failures);
        AssertFlushesShared(db, flushesBefore, threads * perThread);
    }

    /// <summary>The group-commit tests' check: fewer flushes than commits, and every commit's entry there.</summary>
    private void AssertFlushesShared(KvDatabase db, long flushesBefore, int commits)
    {
        long flushes = db.Pipeline.FlushCount - flushesBefore;
        output.WriteLine($"{commits} commits, {flushes} flushes, {(double)commits / Math.Max(1, flushes):F2} commits per flush");
        Assert.True(flushes < commits, $"{flushes} flushes for {commits} commits: no grouping");
        Assert.Equal(commits, db.GetStats().Main.Entries);
    }

    /// <summary>CommitAsync never blocks a thread-pool thread in msync: flushes for async waiters run on the flusher thread.</summary>
    [Fact]
    public async Task CommitAsync_FlushesOffTheThreadPool()
    {
        var sim = MmapKv.Simulation.CrashRunner.NewFormatted(4096, 8 << 20, 3);
        var onPool = new System.Collections.Concurrent.ConcurrentBag<bool>();
        using (var db = KvDatabase.Open("sim", sim, MmapKv.Simulation.CrashRunner.Options(4096, 8 << 20)))
        {
            sim.BeforeFlush = _ => onPool.Add(Thread.CurrentThread.IsThreadPoolThread);
            for (int i = 0; i < 20; i++)
            {
                using var tx = await db.BeginWriteAsync();
                tx.Put(Bytes.Of($"k{i}"), Bytes.Of("v"));
                await tx.CommitAsync(Durability.Immediate);
                Assert.True(db.DurableTxnId >= tx.TxnId);
            }
            sim.BeforeFlush = null;
        }
        sim.Release();
        Assert.NotEmpty(onPool);
        Assert.DoesNotContain(true, onPool);
    }

    /// <summary>Deferred commits are visible at once, durable only after Flush (or the next Immediate commit).</summary>
    [Fact]
    public void Deferred_VisibleAtOnce_DurableAfterFlushOrImmediate()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.Zero });
        using (var tx = db.BeginWrite()) { tx.Put("a"u8, "1"u8); tx.Commit(); }
        using (var r = db.BeginRead()) Assert.True(r.TryGet("a"u8, out _));
        Assert.True(db.DurableTxnId < db.LastTxnId);
        db.Flush();
        Assert.Equal(db.LastTxnId, db.DurableTxnId);
        using (var tx = db.BeginWrite()) { tx.Put("b"u8, "2"u8); tx.Commit(); }
        using (var tx = db.BeginWrite()) { tx.Put("c"u8, "3"u8); tx.Commit(Durability.Immediate); }
        Assert.Equal(db.LastTxnId, db.DurableTxnId);
    }

    /// <summary>The background interval flush makes deferred commits durable without a call.</summary>
    [Fact]
    public void Deferred_IntervalFlush_MakesCommitsDurable()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.FromMilliseconds(50) });
        using (var tx = db.BeginWrite()) { tx.Put("a"u8, "1"u8); tx.Commit(); }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (db.DurableTxnId < db.LastTxnId && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.Equal(db.LastTxnId, db.DurableTxnId);
    }

    /// <summary>The size threshold flushes from the committing thread once enough pages wait.</summary>
    [Fact]
    public void Deferred_SizeThreshold_Flushes()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.Zero, DeferredFlushBytes = 64 * 1024 });
        using (var tx = db.BeginWrite()) { tx.Put("big"u8, new byte[100_000]); tx.Commit(); }
        Assert.Equal(db.LastTxnId, db.DurableTxnId);
    }

    /// <summary>Commit rates of the modes relative to each other (printed; the benchmarks hold the targets).</summary>
    [Fact]
    public async Task CommitRates_AreReported()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { DeferredFlushInterval = TimeSpan.Zero, DeferredFlushBytes = 1L << 40 });
        double Rate(int commits, Action body)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            body();
            return commits / sw.Elapsed.TotalSeconds;
        }
        int n = 0;
        double immediate = Rate(300, () =>
        {
            for (int i = 0; i < 300; i++) { using var tx = db.BeginWrite(); tx.Put(Bytes.Of($"i{n++}"), new byte[100]); tx.Commit(Durability.Immediate); }
        });
        double deferred = Rate(3000, () =>
        {
            for (int i = 0; i < 3000; i++) { using var tx = db.BeginWrite(); tx.Put(Bytes.Of($"d{n++}"), new byte[100]); tx.Commit(Durability.Deferred); }
            db.Flush();
        });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < 150; i++)
            {
                using var tx = await db.BeginWriteAsync();
                tx.Put(Bytes.Of($"g{t}:{i}"), new byte[100]);
                await tx.CommitAsync(Durability.Immediate);
            }
        })));
        double group = 600 / sw.Elapsed.TotalSeconds;
        output.WriteLine($"commits/s: immediate {immediate:F0}, deferred {deferred:F0} ({deferred / immediate:F1}x), group commit x4 {group:F0} ({group / immediate:F1}x)");
        Assert.True(immediate > 0 && deferred > 0 && group > 0);
    }
}
