namespace MmapKv.Diagnostics;

/// <summary>
/// One open database's part of the core meter (<see cref="KvMeter"/>): records its commits and flushes with its
/// tag, and answers the observable instruments for it. Registered at open, unregistered at close, so a closed
/// database stops reporting.
/// </summary>
/// <remarks>
/// The hot paths only add to counters and record into histograms with one prebuilt tag, which allocates nothing
/// and costs a branch while no listener is attached. A commit adds one counter and stamps one ring entry
/// (<see cref="CommitStamps"/>); a flush records its counts and, per commit it made durable, how long that commit
/// waited.
/// </remarks>
internal sealed class DatabaseMetrics : IDisposable
{
    private readonly IDatabaseGauges _gauges;
    private readonly CommitStamps _stamps = new();
    private long _freePages, _heldPages;
    private int _disposed;

    public DatabaseMetrics(string path, IDatabaseGauges gauges, bool writable)
    {
        Tag = new(KvMeter.DatabaseTag, path);
        _gauges = gauges;
        Writable = writable;
        KvMeter.Register(this);
    }

    /// <summary>The tag every measurement of this database carries.</summary>
    public KeyValuePair<string, object?> Tag { get; }

    /// <summary>Whether the database can write (read-only ones report no free pages).</summary>
    public bool Writable { get; }

    /// <summary>A commit was published. Called under the writer lock, in txn order, before the pipeline can flush it.</summary>
    public void Published(long txnId)
    {
        KvMeter.Commits.Add(1, Tag);
        _stamps.Published(txnId);
    }

    /// <summary>
    /// A flush that started at <paramref name="started"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp)
    /// made the commits after <paramref name="previousDurable"/> up to <paramref name="durable"/> durable.
    /// Called under the flush lock, before the flush's waiters are released.
    /// </summary>
    public void Flushed(long previousDurable, long durable, long started)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        KvMeter.Flushes.Add(1, Tag);
        KvMeter.CommitsPerFlush.Record(durable - previousDurable, Tag);
        KvMeter.FlushDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started, now).TotalSeconds, Tag);
        if (!KvMeter.CommitDuration.Enabled) return;
        // Only the newest commits of a huge batch are still in the ring (CommitStamps.Capacity); older ones are skipped.
        for (long txn = Math.Max(previousDurable + 1, durable - CommitStamps.Capacity + 1); txn <= durable; txn++)
            if (_stamps.TryGetAge(txn, now, out double seconds)) KvMeter.CommitDuration.Record(seconds, Tag);
    }

    /// <summary>The allocator's counts at the end of a write transaction (or at open), under the writer lock.</summary>
    public void SpaceSampled(long freePages, long heldPages)
    {
        Volatile.Write(ref _freePages, freePages);
        Volatile.Write(ref _heldPages, heldPages);
    }

    public long FreePages => Volatile.Read(ref _freePages);
    public long HeldPages => Volatile.Read(ref _heldPages);
    public long FileBytes => _gauges.FileBytes;
    public int ActiveReaders(out TimeSpan oldestAge) => _gauges.ActiveReaders(out oldestAge);

    /// <summary>Stops reporting this database. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) KvMeter.Unregister(this);
    }
}
