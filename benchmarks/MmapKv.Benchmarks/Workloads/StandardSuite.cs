using MmapKv.Benchmarks.Engines;
using MmapKv.Benchmarks.Native;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// Workloads 1–11 of docs/benchmarks.md. Per engine, database A takes the bulk load, the batch writes, every read
/// workload and the removals, and database B the sequential append. The one-insert durable transactions
/// (individual writes, group commit) are bound by the disk's flush latency, which on a shared machine drifts by
/// an order of magnitude within minutes; so they run in an interleaved phase on database C, with every engine
/// open at once and taking turns transaction by transaction (group commit: 100 transactions at a time), so each
/// sees the same disk. Timed loops only read, write and checksum; exact-content checks run untimed after them.
/// </summary>
internal sealed class StandardSuite : SuiteBase
{
    public const int IndividualTxns = 1_000;
    public const int BatchTxns = 100;
    public const int BatchSize = 1_000;
    public const int GroupThreads = 4;
    public const int GroupTxnsPerThread = 250;
    public const int RangeNexts = 10;

    private readonly int _n;
    private readonly HashSet<string> _selected;
    private readonly int[] _readOrder;     // permutation of the load set: random reads, seeks, concurrent reads
    private readonly int[] _sortedLoad;    // load set in key order: the sequential append
    private readonly int[] _sortedLive;    // database A after the batch writes, in key order
    private readonly ulong _readsExpected, _rangeExpected, _scanExpected;
    private readonly long _rangeEntries;

    /// <summary>Total time of the floor loop, per repetition.</summary>
    private readonly List<double> _floorMs = new();
    private readonly Dictionary<string, double> _individualFlushUs = new(); // engine id → mean flush (µs), latest repetition

    private int IndividualStart => _n;
    private int BatchStart => _n + IndividualTxns;
    private int GroupStart => BatchStart + BatchTxns * BatchSize;

    /// <summary>Entries the dataset must hold for a load set of <paramref name="n"/>.</summary>
    public static long DatasetSize(long n) => n + IndividualTxns + BatchTxns * BatchSize + GroupThreads * GroupTxnsPerThread;

    public StandardSuite(RunConfig config, Dataset data, Results results, IProgressSink progress)
        : base(config, data, results, progress)
    {
        _n = checked((int)config.N);
        _selected = config.Selectors;
        _readOrder = Dataset.Permutation(_n, Dataset.Seed ^ 0x5EAD);
        _sortedLoad = data.SortedByKey(0, _n);
        _sortedLive = Range(0, _n).Concat(Range(BatchStart, BatchTxns * BatchSize)).ToArray();
        data.SortByKey(_sortedLive);

        // Expected checksums, computed once, untimed.
        for (int i = 0; i < _n; i++) _readsExpected += data.ValueChecksum(i);
        foreach (int i in _sortedLive) _scanExpected += data.EntryChecksum(i);
        var rank = new int[GroupStart]; // indexed by entry; only database A's entries are set
        for (int p = 0; p < _sortedLive.Length; p++) rank[_sortedLive[p]] = p;
        for (int s = 0; s < _n / 2; s++)
        {
            int pos = rank[_readOrder[s]];
            for (int t = 0; t <= RangeNexts && pos + t < _sortedLive.Length; t++)
            {
                _rangeExpected += data.EntryChecksum(_sortedLive[pos + t]);
                _rangeEntries++;
            }
        }
    }

    private bool Selected(Row row) => _selected.Contains(row.Selector);

    public override IReadOnlyList<Row> PlannedRows => Rows.Standard.Where(Selected).ToArray();

    private bool NeedsDatabaseA => PlannedRows.Any(r => r != Rows.SequentialAppend && r != Rows.GroupCommit && r != Rows.IndividualWrites);
    private bool NeedsRemovals => Selected(Rows.Removals) || Selected(Rows.SizeAfterRemovals);
    private bool NeedsDatabaseB => Selected(Rows.SequentialAppend);
    private bool NeedsDatabaseC => Selected(Rows.IndividualWrites) || Selected(Rows.GroupCommit);

    public override void Run(IEngine engine, int repetition)
    {
        if (NeedsDatabaseA) RunDatabaseA(engine, repetition);
        if (NeedsDatabaseB) RunDatabaseB(engine, repetition);
    }

    public override void RunRepetition(IReadOnlyList<IEngine> engines, int repetition)
    {
        base.RunRepetition(engines, repetition);
        if (NeedsDatabaseC) RunInterleavedDurable(engines, repetition);
    }

    /// <summary>Runs a step; records it only if selected (unselected steps still run when later ones need their data).</summary>
    private void Step(IEngine engine, Row row, int repetition, Func<double> body)
    {
        Progress.Start(engine, row, repetition);
        double value = body();
        if (Selected(row)) Record(engine, row, repetition, value);
    }

    private void RunDatabaseA(IEngine engine, int rep)
    {
        string dir = FreshDirectory(engine, "a");
        engine.Open(dir);
        try
        {
            // 1. Bulk load: N random-order inserts in one durable transaction.
            Step(engine, Rows.BulkLoad, rep, () => Timed(() =>
            {
                using var w = engine.BeginWrite();
                for (int i = 0; i < _n; i++) w.Put(Data.Key(i), Data.Value(i));
                w.Commit();
            }));
            VerifyPresent(engine, Range(0, _n), "after bulk load");

            // 9a. File size after load, at rest.
            if (Selected(Rows.SizeAfterLoad))
                Step(engine, Rows.SizeAfterLoad, rep, () => SizeAtRest(engine, dir));

            // 3. Batch writes: 100 durable transactions of 1,000 random inserts.
            Step(engine, Rows.BatchWrites, rep, () => Timed(() =>
            {
                for (int b = 0; b < BatchTxns; b++)
                {
                    using var w = engine.BeginWrite();
                    int first = BatchStart + b * BatchSize;
                    for (int i = first; i < first + BatchSize; i++) w.Put(Data.Key(i), Data.Value(i));
                    w.Commit();
                }
            }));
            VerifyPresent(engine, Range(BatchStart, BatchTxns * BatchSize), "after batch writes");

            // 4. Random reads: every loaded key once, in random order, in one read transaction.
            if (Selected(Rows.RandomReads))
                Step(engine, Rows.RandomReads, rep, () => Timed(() => RandomReads(engine)));

            // 5. Random range reads: N/2 seeks to existing keys, each followed by 10 Next.
            if (Selected(Rows.RangeReads))
            {
                Step(engine, Rows.RangeReads, rep, () => Timed(() => RangeReads(engine)));
                if (Config.Smoke) VerifyRanges(engine);
            }

            // 6. Full scan.
            if (Selected(Rows.FullScan))
            {
                Step(engine, Rows.FullScan, rep, () => Timed(() => FullScan(engine)));
                if (Config.Smoke) VerifyScan(engine, _sortedLive, "full scan");
            }

            // 7. Concurrent reads: all loaded keys, split across 1 and then 2 threads.
            if (Selected(Rows.ConcurrentReads1))
            {
                Step(engine, Rows.ConcurrentReads1, rep, () => ConcurrentReads(engine, 1));
                Step(engine, Rows.ConcurrentReads2, rep, () => ConcurrentReads(engine, 2));
            }

            // 8. Removals: the first half of the load set, in one durable transaction.
            if (NeedsRemovals)
            {
                Step(engine, Rows.Removals, rep, () => Timed(() =>
                {
                    using var w = engine.BeginWrite();
                    int removed = 0;
                    for (int i = 0; i < _n / 2; i++) removed += w.Delete(Data.Key(i)) ? 1 : 0;
                    w.Commit();
                    Expect(removed == _n / 2, engine, $"removals deleted {removed} keys, expected {_n / 2}");
                }));
                VerifyAbsent(engine, Range(0, _n / 2), "after removals");
                VerifyPresent(engine, Range(_n / 2, _n - _n / 2).Concat(Range(BatchStart, BatchTxns * BatchSize)).ToArray(), "after removals");
                if (Config.Smoke) VerifyScan(engine, _sortedLive.Where(i => i >= _n / 2).ToArray(), "scan after removals");

                // 9b. File size after removals, at rest.
                if (Selected(Rows.SizeAfterRemovals))
                    Step(engine, Rows.SizeAfterRemovals, rep, () => SizeAtRest(engine, dir));
            }
            VerifySelf(engine, "database A");
        }
        finally
        {
            engine.Close();
            Discard(dir);
        }
    }

    private void RandomReads(IEngine engine)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        using (var r = engine.BeginRead())
        {
            foreach (int i in _readOrder)
            {
                if (!r.TryGet(Data.Key(i), out var v)) throw new VerificationException($"{engine.Name}: random reads: key #{i} is missing");
                sum += Checksum.Of(v);
            }
        }
        Results.Note(engine.Id, "bytes allocated per get", (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / _n);
        Expect(sum == _readsExpected, engine, "random reads: the values' checksum differs from the data written");
    }

    private void RangeReads(IEngine engine)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        long entries = 0;
        using (var r = engine.BeginRead())
        using (var c = r.OpenCursor())
        {
            for (int s = 0; s < _n / 2; s++)
            {
                if (!c.Seek(Data.Key(_readOrder[s]))) throw new VerificationException($"{engine.Name}: range reads: seek found nothing");
                sum += Checksum.Of(c.Key) + Checksum.Of(c.Value);
                entries++;
                for (int t = 0; t < RangeNexts && c.Next(); t++)
                {
                    sum += Checksum.Of(c.Key) + Checksum.Of(c.Value);
                    entries++;
                }
            }
        }
        Results.Note(engine.Id, "bytes allocated per cursor move (range reads)", (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / entries);
        Expect(entries == _rangeEntries && sum == _rangeExpected, engine,
            $"range reads: read {entries} entries (expected {_rangeEntries}) or their checksum differs");
    }

    /// <summary>Smoke mode: every range of the range-read workload, entry by entry.</summary>
    private void VerifyRanges(IEngine engine)
    {
        var rank = new Dictionary<int, int>(_sortedLive.Length);
        for (int p = 0; p < _sortedLive.Length; p++) rank[_sortedLive[p]] = p;
        using var r = engine.BeginRead();
        using var c = r.OpenCursor();
        for (int s = 0; s < _n / 2; s++)
        {
            int pos = rank[_readOrder[s]];
            bool ok = c.Seek(Data.Key(_readOrder[s]));
            for (int t = 0; t <= RangeNexts; t++, ok = c.Next())
            {
                bool expected = pos + t < _sortedLive.Length;
                Expect(ok == expected, engine, $"range from key #{_readOrder[s]}: step {t} {(ok ? "found an entry past the end" : "ended early")}");
                if (!ok) break;
                int want = _sortedLive[pos + t];
                Expect(c.Key.SequenceEqual(Data.Key(want)) && c.Value.SequenceEqual(Data.Value(want)), engine,
                    $"range from key #{_readOrder[s]}: step {t} returned the wrong entry");
            }
        }
    }

    private void FullScan(IEngine engine)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        long count = 0;
        using (var r = engine.BeginRead())
        using (var c = r.OpenCursor())
        {
            for (bool ok = c.First(); ok; ok = c.Next())
            {
                sum += Checksum.Of(c.Key) + Checksum.Of(c.Value);
                count++;
            }
        }
        Results.Note(engine.Id, "bytes allocated per cursor move (full scan)", (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / Math.Max(1, count));
        Expect(count == _sortedLive.Length && sum == _scanExpected, engine,
            $"full scan: {count} entries (expected {_sortedLive.Length}) or their checksum differs");
    }

    private double ConcurrentReads(IEngine engine, int threads)
    {
        var sums = new ulong[threads];
        double ms = TimedThreads(threads, t =>
        {
            int from = (int)((long)_n * t / threads), to = (int)((long)_n * (t + 1) / threads);
            ulong sum = 0;
            using (var r = engine.BeginRead())
            {
                for (int k = from; k < to; k++)
                {
                    int i = _readOrder[k];
                    if (!r.TryGet(Data.Key(i), out var v)) throw new VerificationException($"{engine.Name}: concurrent reads: key #{i} is missing");
                    sum += Checksum.Of(v);
                }
            }
            sums[t] = sum;
        });
        ulong total = 0;
        foreach (ulong s in sums) total += s;
        Expect(total == _readsExpected, engine, $"concurrent reads ({threads} threads): checksum differs");
        return ms;
    }

    private void RunDatabaseB(IEngine engine, int rep)
    {
        string dir = FreshDirectory(engine, "b");
        engine.Open(dir);
        try
        {
            // 10. Sequential append: the load set in key order, in one durable transaction, into an empty database.
            Step(engine, Rows.SequentialAppend, rep, () => Timed(() =>
            {
                using var w = engine.BeginWrite();
                foreach (int i in _sortedLoad) w.Append(Data.Key(i), Data.Value(i));
                w.Commit();
            }));
            if (Config.Smoke) VerifyScan(engine, _sortedLoad, "after sequential append");
            else VerifyPresent(engine, Range(0, _n), "after sequential append");

            VerifySelf(engine, "database B");
        }
        finally
        {
            engine.Close();
            Discard(dir);
        }
    }

    /// <summary>
    /// Workloads 2 and 11, interleaved across engines. Each engine gets database C, bulk loaded with the N keys
    /// (untimed); once every engine is loaded and idle, the 1,000 individual writes run as 1,000 rounds in which
    /// every engine commits one transaction (the first engine changes each round), and the group commit as 10
    /// rounds in which every engine runs 4 threads × 25 transactions. Each engine's times are summed.
    /// </summary>
    private void RunInterleavedDurable(IReadOnlyList<IEngine> engines, int rep)
    {
        var dirs = new List<string>();
        var open = new List<IEngine>();
        try
        {
            foreach (var e in engines)
            {
                string dir = FreshDirectory(e, "c");
                dirs.Add(dir);
                e.Open(dir);
                open.Add(e);
                using var w = e.BeginWrite();
                for (int i = 0; i < _n; i++) w.Put(Data.Key(i), Data.Value(i));
                w.Commit();
            }
            foreach (var e in engines) e.WaitIdle();

            if (Selected(Rows.IndividualWrites))
            {
                foreach (var e in engines) Progress.Start(e, Rows.IndividualWrites, rep);
                var ms = new double[engines.Count];
                // The physical floor takes its turn in every round too (durable runs): one 4 KiB pwrite + fdatasync.
                using var floor = Config.Durable ? new FsyncFloor(Path.Combine(Config.DataDir, "floor")) : null;
                double floorMs = 0;
                Quiesce();
                var tallied = engines.Select(e => e.FlushCounts()).ToArray();
                for (int j = 0; j < IndividualTxns; j++)
                {
                    int i = IndividualStart + j;
                    for (int k = 0; k <= engines.Count; k++)
                    {
                        int e = (j + k) % (engines.Count + 1);
                        if (e == engines.Count)
                        {
                            if (floor is not null) floorMs += floor.WriteAndFlush();
                            continue;
                        }
                        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        using (var w = engines[e].BeginWrite())
                        {
                            w.Put(Data.Key(i), Data.Value(i));
                            w.Commit();
                        }
                        ms[e] += System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }
                }
                for (int e = 0; e < engines.Count; e++)
                {
                    if (tallied[e] is { } b && engines[e].FlushCounts() is { } a && (a - b) is { Flushes: > 0 } d)
                        _individualFlushUs[engines[e].Id] = d.FlushSeconds * 1e6 / d.Flushes;
                    Record(engines[e], Rows.IndividualWrites, rep, ms[e]);
                    if (floor is not null && engines[e].DurableCommits) Results.Add(Rows.FloorFraction, engines[e].Id, floorMs / ms[e]);
                    else if (floor is not null) Results.NotApplicable(Rows.FloorFraction, engines[e].Id);
                    VerifyPresent(engines[e], Range(IndividualStart, IndividualTxns), "after individual writes");
                }
                if (floor is not null)
                {
                    _floorMs.Add(floorMs);
                    double median = _floorMs.Order().ElementAt(_floorMs.Count / 2);
                    Results.RowNotes.Remove(Rows.FloorFraction.Id); // one note, for the latest median
                    Results.RowNote(Rows.FloorFraction,
                        $"the floor is {IndividualTxns:N0} × (one 4 KiB pwrite at a random aligned offset of a preallocated {FsyncFloor.FileBytes >> 20} MiB file + fdatasync), " +
                        $"P/Invoke to libc, taking its turn in every round of the individual writes: {median / IndividualTxns * 1000:0} µs each, " +
                        $"{IndividualTxns / (median / 1000):N0}/s (the median repetition's). 1.00 would be one commit per bare write + flush.");
                }
            }

            if (Selected(Rows.GroupCommit))
            {
                const int Rounds = 10;
                const int PerRound = GroupTxnsPerThread / Rounds;
                foreach (var e in engines) Progress.Start(e, Rows.GroupCommit, rep);
                var ms = new double[engines.Count];
                var counted = new FlushTally[engines.Count];
                for (int round = 0; round < Rounds; round++)
                {
                    for (int k = 0; k < engines.Count; k++)
                    {
                        int e = (round + k) % engines.Count;
                        var engine = engines[e];
                        var before = engine.FlushCounts();
                        ms[e] += TimedThreads(GroupThreads, t =>
                        {
                            int first = GroupStart + t * GroupTxnsPerThread + round * PerRound;
                            for (int i = first; i < first + PerRound; i++)
                            {
                                using var w = engine.BeginWrite();
                                w.Put(Data.Key(i), Data.Value(i));
                                w.Commit();
                            }
                        });
                        // Outside the timed threads: the meter's counts of this engine's commits and flushes.
                        if (before is { } b && engine.FlushCounts() is { } a) counted[e] += a - b;
                    }
                }
                var flushTimes = new List<string>();
                for (int e = 0; e < engines.Count; e++)
                {
                    Record(engines[e], Rows.GroupCommit, rep, ms[e]);
                    var c = counted[e];
                    if (Config.Durable && c.Flushes > 0)
                    {
                        Results.Add(Rows.CommitsPerFlush, engines[e].Id, c.Commits / (double)c.Flushes);
                        // What a shared flush costs against one commit's: a batch writes the pages of all its commits.
                        string single = _individualFlushUs.TryGetValue(engines[e].Id, out double us) ? $", {us:0} µs in the individual writes" : "";
                        flushTimes.Add($"{engines[e].Name} {c.FlushSeconds * 1e6 / c.Flushes:0} µs{single}");
                    }
                    VerifyPresent(engines[e], Range(GroupStart, GroupThreads * GroupTxnsPerThread), "after group commit");
                }
                if (flushTimes.Count > 0)
                {
                    Results.RowNotes.Remove(Rows.CommitsPerFlush.Id); // one note, for the latest repetition
                    Results.RowNote(Rows.CommitsPerFlush,
                        "the engine's own counts of its commits and flushes around each timed round (MmapKv: its public meter's mmapkv.commits and " +
                        "mmapkv.flushes for this database, no strace; benchmarks/flush-count.sh counts every engine's flush calls under strace, which " +
                        $"slows them); engines that report none show \"–\". Mean flush in the latest repetition's group commit: {string.Join("; ", flushTimes)}.");
                }
            }
            foreach (var e in engines) VerifySelf(e, "database C");
        }
        finally
        {
            foreach (var e in open) e.Close();
            foreach (string dir in dirs) Discard(dir);
        }
    }
}
