using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using MmapKv.Diagnostics;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The core meter "MmapKv" (docs/metrics.md): what a collector sees for commits, flushes, readers, file size and
/// free pages, told apart per database by the <c>db.namespace</c> tag. Other tests open databases in parallel, so
/// every assertion filters on this test's paths; and its collectors must not run beside the allocation tests
/// (<see cref="ProcessWideStateCollection"/>).
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class DatabaseMetricsTests
{
    private static MetricCollector<T> Collect<T>(string instrument) where T : struct =>
        new(null, KvMeter.Name, instrument);

    private static List<T> Of<T>(MetricCollector<T> c, string path) where T : struct =>
        c.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue(KvMeter.DatabaseTag, out var v) && (string?)v == path)
            .Select(m => m.Value).ToList();

    private static void Commit(KvDatabase db, int i, Durability durability)
    {
        using var w = db.BeginWrite();
        w.Put(Bytes.Of($"k{i:D5}"), new byte[100]);
        w.Commit(durability);
    }

    [Fact]
    public void ImmediateCommits_AreCountedFlushedOneByOneAndTimed_PerDatabase()
    {
        using var commits = Collect<long>("mmapkv.commits");
        using var flushes = Collect<long>("mmapkv.flushes");
        using var perFlush = Collect<long>("mmapkv.commits_per_flush");
        using var duration = Collect<double>("mmapkv.commit.duration");
        using var flushDuration = Collect<double>("mmapkv.flush.duration");
        using var dir = new TempDir();
        string a = dir.File("a.mkv"), b = dir.File("b.mkv");
        using var dbA = KvDatabase.Open(a);
        using var dbB = KvDatabase.Open(b);
        for (int i = 0; i < 5; i++) Commit(dbA, i, Durability.Immediate);
        for (int i = 0; i < 2; i++) Commit(dbB, i, Durability.Immediate);
        using (var w = dbA.BeginWrite()) w.Commit(); // changed nothing: not a commit

        Assert.Equal(5, Of(commits, a).Sum());
        Assert.Equal(2, Of(commits, b).Sum());
        Assert.Equal(5, Of(flushes, a).Sum()); // one writer, Immediate: one flush per commit
        Assert.Equal(Enumerable.Repeat(1L, 5), Of(perFlush, a));
        var times = Of(duration, a);
        Assert.Equal(5, times.Count);
        Assert.All(times, t => Assert.InRange(t, 0, 60));
        Assert.All(times.Zip(Of(flushDuration, a)), p => Assert.True(p.First >= p.Second - 2e-6,
            $"a commit waited {p.First} s, less than its flush took ({p.Second} s)"));
        Assert.Equal(2, Of(duration, b).Count);
    }

    [Fact]
    public void DeferredCommits_AreMadeDurableByOneFlush_OldestWaitingLongest()
    {
        using var flushes = Collect<long>("mmapkv.flushes");
        using var perFlush = Collect<long>("mmapkv.commits_per_flush");
        using var duration = Collect<double>("mmapkv.commit.duration");
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.Zero });
        for (int i = 0; i < 10; i++)
        {
            Commit(db, i, Durability.Deferred);
            Thread.Sleep(2);
        }
        Assert.Empty(Of(flushes, path));
        db.Flush();
        Assert.Equal(1, Of(flushes, path).Sum());
        Assert.Equal(new[] { 10L }, Of(perFlush, path));
        var times = Of(duration, path); // recorded oldest commit first
        Assert.Equal(10, times.Count);
        for (int i = 1; i < times.Count; i++)
            Assert.True(times[i - 1] > times[i], $"commit {i - 1} waited {times[i - 1]} s, commit {i} {times[i]} s");
        Assert.True(times[0] - times[^1] >= 0.015, "the first commit was published at least 9 sleeps of 2 ms before the last");
    }

    [Fact]
    public void ConcurrentImmediateCommits_ShareFlushes_AndEveryCommitIsAccountedFor()
    {
        using var commits = Collect<long>("mmapkv.commits");
        using var perFlush = Collect<long>("mmapkv.commits_per_flush");
        using var duration = Collect<double>("mmapkv.commit.duration");
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (int i = 0; i < 50; i++) Commit(db, t * 1000 + i, Durability.Immediate);
        });
        Assert.Equal(200, Of(commits, path).Sum());
        Assert.Equal(200, Of(perFlush, path).Sum()); // each commit made durable by exactly one flush
        Assert.Equal(200, Of(duration, path).Count);
    }

    [Fact]
    public void ObservableInstruments_ReportReadersFileSizeAndPages_AndStopWhenTheDatabaseCloses()
    {
        using var readers = Collect<int>("mmapkv.readers.active");
        using var oldest = Collect<double>("mmapkv.readers.oldest_age");
        using var size = Collect<long>("mmapkv.file.size");
        using var free = Collect<long>("mmapkv.pages.free");
        using var held = Collect<long>("mmapkv.pages.held");
        using var dir = new TempDir();
        string path = dir.File();
        var db = KvDatabase.Open(path);
        for (int i = 0; i < 300; i++) Commit(db, i, Durability.Deferred);
        var r1 = db.BeginRead();
        var r2 = db.BeginRead();
        Thread.Sleep(50);
        using (var w = db.BeginWrite()) // frees pages r1 and r2 still see: held
        {
            for (int i = 0; i < 300; i++) w.Delete(Bytes.Of($"k{i:D5}"));
            w.Commit();
        }
        db.BeginWrite().Dispose(); // a writer's start moves what nobody holds into the pool
        var stats = db.GetStats();

        readers.RecordObservableInstruments();
        oldest.RecordObservableInstruments();
        size.RecordObservableInstruments();
        free.RecordObservableInstruments();
        held.RecordObservableInstruments();
        Assert.Equal(2, Of(readers, path).Last());
        Assert.InRange(Of(oldest, path).Last(), 0.05, 600);
        Assert.Equal(stats.FileSize, Of(size, path).Last());
        Assert.Equal(stats.HeldFreePages, Of(held, path).Last());
        Assert.True(Of(held, path).Last() > 0, "the readers hold the pages the deletes freed");
        Assert.Equal(stats.FreePages, Of(free, path).Last() + Of(held, path).Last());

        r1.Dispose();
        r2.Dispose();
        db.BeginWrite().Dispose();
        readers.RecordObservableInstruments();
        held.RecordObservableInstruments();
        free.RecordObservableInstruments();
        Assert.Equal(0, Of(readers, path).Last());
        Assert.Equal(0, Of(held, path).Last()); // the readers are gone and the deletes are durable
        Assert.Equal(db.GetStats().FreePages, Of(free, path).Last());
        oldest.RecordObservableInstruments();
        Assert.Equal(0, Of(oldest, path).Last());

        db.Dispose();
        int before = Of(size, path).Count;
        size.RecordObservableInstruments();
        Assert.Equal(before, Of(size, path).Count); // a closed database is no longer observed
    }

    [Fact]
    public void CommitAndFlushMeasurements_AllocateNothing_WithAListenerAttached()
    {
        // The commit path's metrics (a counter, a ring stamp) and the flush's (two counters, two histograms, one
        // record per commit) must not allocate, even while a listener takes every measurement.
        using var dir = new TempDir();
        string path = dir.File("measured.mkv");
        using var db = KvDatabase.Open(dir.File());
        using var metrics = new DatabaseMetrics(path, db, writable: true); // a second meter over the same database
        long sum = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KvMeter.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => { if (tags.Length == 1) Interlocked.Add(ref sum, value); });
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => { if (tags.Length == 1) Interlocked.Increment(ref sum); });
        listener.Start();
        long txn = 0;
        void Work()
        {
            for (int batch = 0; batch < 100; batch++)
            {
                long first = txn;
                for (int i = 0; i < 10; i++) metrics.Published(++txn);
                metrics.Flushed(first, txn, System.Diagnostics.Stopwatch.GetTimestamp());
            }
        }
        Work(); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sum > 0, "the listener saw the measurements");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void CommitStamps_RefuseAnEntryOverwrittenByACommitOneRingNewer()
    {
        var stamps = new CommitStamps();
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        Assert.False(stamps.TryGetAge(7, now, out _)); // never published
        stamps.Published(7);
        Assert.True(stamps.TryGetAge(7, System.Diagnostics.Stopwatch.GetTimestamp(), out double age));
        Assert.InRange(age, 0, 60);
        stamps.Published(7 + CommitStamps.Capacity); // same ring entry
        Assert.False(stamps.TryGetAge(7, System.Diagnostics.Stopwatch.GetTimestamp(), out _));
        Assert.True(stamps.TryGetAge(7 + CommitStamps.Capacity, System.Diagnostics.Stopwatch.GetTimestamp(), out _));
    }
}
