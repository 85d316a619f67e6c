using System.Collections.Concurrent;
using System.Diagnostics;
using MmapKv.Benchmarks.Engines;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>What the standard and scaling suites share: timing, threads, directories and exact-content checks.</summary>
internal abstract class SuiteBase(RunConfig config, Dataset data, Results results, IProgressSink progress)
{
    protected RunConfig Config { get; } = config;
    protected Dataset Data { get; } = data;
    protected Results Results { get; } = results;
    public IProgressSink Progress { get; set; } = progress;

    /// <summary>Rows this suite records for one engine in one repetition, in order (for progress totals).</summary>
    public abstract IReadOnlyList<Row> PlannedRows { get; }

    /// <summary>Runs every selected workload on one engine once.</summary>
    public abstract void Run(IEngine engine, int repetition);

    /// <summary>
    /// One repetition over all engines: each engine's suite in turn, in the order given (the caller rotates it).
    /// Suites with phases that must see the same machine conditions for every engine override this.
    /// </summary>
    public virtual void RunRepetition(IReadOnlyList<IEngine> engines, int repetition)
    {
        foreach (var e in engines) Run(e, repetition);
    }

    /// <summary>Runs <paramref name="body"/> with a clean heap and returns its wall time in milliseconds.</summary>
    protected static double Timed(Action body)
    {
        Quiesce();
        long t0 = Stopwatch.GetTimestamp();
        body();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>Collects garbage left by the previous step so it is not charged to the next one.</summary>
    protected static void Quiesce()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// Starts <paramref name="threads"/> threads that wait at a gate, opens it, and returns the wall time until the
    /// last one finishes; thread start-up is not timed. An exception in any thread is rethrown here.
    /// </summary>
    protected static double TimedThreads(int threads, Action<int> body)
    {
        var errors = new ConcurrentQueue<Exception>();
        using var gate = new ManualResetEventSlim();
        using var ready = new CountdownEvent(threads);
        var all = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            all[t] = new Thread(() =>
            {
                ready.Signal();
                gate.Wait();
                try { body(id); }
                catch (Exception e) { errors.Enqueue(e); }
            }) { IsBackground = true, Name = $"bench-{id}" };
            all[t].Start();
        }
        ready.Wait();
        Quiesce();
        long t0 = Stopwatch.GetTimestamp();
        gate.Set();
        foreach (var th in all) th.Join();
        double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        if (!errors.IsEmpty) throw errors.Count == 1 ? errors.First() : new AggregateException(errors);
        return ms;
    }

    protected void Record(IEngine engine, Row row, int repetition, double value)
    {
        if (Config.Durable && row.IsWrite && !engine.DurableCommits)
        {
            Results.NotApplicable(row, engine.Id);
            Results.RowNote(row, $"{engine.Name}: n/a, its commits are not on stable storage when they return (no flush per commit); the step still runs, unrecorded.");
            Progress.Done(engine, row, repetition, double.NaN);
            return;
        }
        if (Config.Durable && !engine.AtomicDurableBatches && IsMultiKeyWrite(row))
        {
            Results.NotApplicable(row, engine.Id);
            Results.RowNote(row, $"{engine.Name}: n/a, it cannot commit several writes atomically and durably (the step still runs, unrecorded, to build the data the reads use).");
            Progress.Done(engine, row, repetition, double.NaN);
            return;
        }
        Results.Add(row, engine.Id, value);
        Progress.Done(engine, row, repetition, value);
    }

    /// <summary>A timed write step whose transactions hold more than one write.</summary>
    private static bool IsMultiKeyWrite(Row row) =>
        row.IsWrite && row != Rows.IndividualWrites && row != Rows.GroupCommit && !row.Id.StartsWith("scaling-writes", StringComparison.Ordinal);

    /// <summary>A fresh directory for one engine's database.</summary>
    protected string FreshDirectory(IEngine engine, string suffix)
    {
        string dir = Path.Combine(Config.DataDir, $"{engine.Id}-{suffix}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    protected void Discard(string dir)
    {
        if (!Config.KeepData && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Closes the engine, measures its files and opens it again (a closed database has its final size). An untimed
    /// scan then brings the reopened engine back to the warm state the workloads that follow expect (pages mapped,
    /// caches filled), as if it had never been closed.
    /// </summary>
    protected static long SizeAtRest(IEngine engine, string dir)
    {
        engine.Close();
        long bytes = engine.FileSize();
        engine.Open(dir);
        using var r = engine.BeginRead();
        using var c = r.OpenCursor();
        ulong sink = 0;
        for (bool ok = c.First(); ok; ok = c.Next()) sink += c.Value[0];
        GC.KeepAlive(sink);
        return bytes;
    }

    protected static void Expect(bool condition, IEngine engine, string what)
    {
        if (!condition) throw new VerificationException($"{engine.Name}: {what}");
    }

    /// <summary>Every listed entry is present with exactly its value (in smoke mode every index; else a sample).</summary>
    protected void VerifyPresent(IEngine engine, IReadOnlyList<int> indices, string context)
    {
        using var r = engine.BeginRead();
        foreach (int i in Sample(indices))
        {
            Expect(r.TryGet(Data.Key(i), out var v), engine, $"{context}: key #{i} is missing");
            Expect(v.SequenceEqual(Data.Value(i)), engine, $"{context}: key #{i} has a wrong value");
        }
    }

    protected void VerifyAbsent(IEngine engine, IReadOnlyList<int> indices, string context)
    {
        using var r = engine.BeginRead();
        foreach (int i in Sample(indices))
            Expect(!r.TryGet(Data.Key(i), out _), engine, $"{context}: deleted key #{i} is still there");
    }

    /// <summary>A cursor over everything returns exactly <paramref name="sorted"/>, in order.</summary>
    protected void VerifyScan(IEngine engine, int[] sorted, string context)
    {
        using var r = engine.BeginRead();
        using var c = r.OpenCursor();
        int k = 0;
        for (bool ok = c.First(); ok; ok = c.Next(), k++)
        {
            Expect(k < sorted.Length, engine, $"{context}: scan returned more than {sorted.Length} entries");
            Expect(c.Key.SequenceEqual(Data.Key(sorted[k])), engine, $"{context}: scan entry {k} has the wrong key");
            Expect(c.Value.SequenceEqual(Data.Value(sorted[k])), engine, $"{context}: scan entry {k} has the wrong value");
        }
        Expect(k == sorted.Length, engine, $"{context}: scan returned {k} entries, expected {sorted.Length}");
    }

    /// <summary>The engine's own integrity check, in smoke mode.</summary>
    protected void VerifySelf(IEngine engine, string context)
    {
        if (!Config.Smoke) return;
        if (engine.SelfCheck() is { } problems) throw new VerificationException($"{engine.Name}: {context}: {problems}");
    }

    private IEnumerable<int> Sample(IReadOnlyList<int> indices)
    {
        int step = Config.Smoke ? 1 : Math.Max(1, indices.Count / 2000);
        for (int k = 0; k < indices.Count; k += step) yield return indices[k];
    }

    protected static int[] Range(int start, int count) => Enumerable.Range(start, count).ToArray();
}

/// <summary>Reports what the harness is doing: a live progress display on a terminal, plain lines otherwise.</summary>
internal interface IProgressSink
{
    void Start(IEngine engine, Row row, int repetition);
    void Done(IEngine engine, Row row, int repetition, double value);
}
