namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// One database under test. The harness drives every engine through these four small interfaces only, so each
/// workload is the same code for all of them. Spans returned by reads are valid until the next call on the same
/// transaction or cursor.
/// </summary>
internal interface IEngine : IDisposable
{
    /// <summary>Short id used on the command line ("mmapkv", "lmdb", ...).</summary>
    string Id { get; }

    /// <summary>Display name for tables and charts.</summary>
    string Name { get; }

    /// <summary>Library version, for the report.</summary>
    string Version { get; }

    /// <summary>Opens (creating if needed) the database in <paramref name="directory"/>, which the engine owns.</summary>
    void Open(string directory);

    /// <summary>Closes the database, flushing whatever the engine flushes at close.</summary>
    void Close();

    /// <summary>Starts a write transaction; callers on several threads are serialized or merged as the engine does.</summary>
    IWriteTxn BeginWrite();

    /// <summary>Starts a read transaction on a consistent snapshot. Safe to call from several threads.</summary>
    IReadTxn BeginRead();

    /// <summary>Bytes the engine's files take on disk (allocated blocks; engine log files excluded).</summary>
    long FileSize();

    /// <summary>Returns once the engine's background work (flushes, compactions) is done, so it does not run
    /// during another engine's timed steps. Engines without background threads return at once.</summary>
    void WaitIdle() { }

    /// <summary>
    /// Whether a transaction of several writes commits atomically with the run's durability. Engines that cannot
    /// (ZoneTree logs each put on its own) get "n/a" on the multi-key durable write rows, never a figure from a
    /// weaker mode; their reads are still measured.
    /// </summary>
    bool AtomicDurableBatches => true;

    /// <summary>
    /// Whether a commit is on stable storage when it returns in a durable run. Engines that cannot do that at all
    /// (LiteDB 5 flushes its log file only at checkpoints and close) get "n/a" on every durable write row.
    /// </summary>
    bool DurableCommits => true;

    /// <summary>
    /// Commits made durable and the device flushes that did it, since the engine was opened, as the engine counts
    /// them itself; null for engines that do not report them.
    /// </summary>
    FlushTally? FlushCounts() => null;

    /// <summary>An engine's own integrity check, where it has one: null when fine, else the problems.</summary>
    string? SelfCheck() => null;
}

/// <summary>A write transaction: nothing is visible to readers until <see cref="Commit"/>.</summary>
internal interface IWriteTxn : IDisposable
{
    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Insert of a key greater than every key in the database; engines with an append fast path use it.</summary>
    void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Removes a key. Returns whether it existed (engines with blind deletes return true).</summary>
    bool Delete(ReadOnlySpan<byte> key);

    /// <summary>Commits with the run's durability (durable: on stable storage when this returns).</summary>
    void Commit();
}

internal interface IReadTxn : IDisposable
{
    bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value);

    /// <summary>One cursor at a time per transaction.</summary>
    ICursor OpenCursor();
}

internal interface ICursor : IDisposable
{
    bool First();

    /// <summary>Moves to the first key not less than <paramref name="key"/>.</summary>
    bool Seek(ReadOnlySpan<byte> key);

    bool Next();

    ReadOnlySpan<byte> Key { get; }

    ReadOnlySpan<byte> Value { get; }
}

/// <summary>Settings every engine is matched on.</summary>
/// <param name="Durable">Commits reach stable storage before returning (fsync/msync); else deferred.</param>
/// <param name="MapSize">Address space for memory-mapped engines (MmapKv MaxSize, LMDB map size).</param>
/// <param name="CacheBytes">Cache for engines that keep their own (RocksDB block cache, SQLite page cache):
/// about the size of the data, so nobody reads from disk.</param>
internal sealed record EngineSettings(bool Durable, long MapSize, long CacheBytes);

/// <summary>An engine's own counts: commits, the flushes that made them durable, and the seconds those flushes took.</summary>
internal readonly record struct FlushTally(long Commits, long Flushes, double FlushSeconds)
{
    public static FlushTally operator -(FlushTally a, FlushTally b) => new(a.Commits - b.Commits, a.Flushes - b.Flushes, a.FlushSeconds - b.FlushSeconds);
    public static FlushTally operator +(FlushTally a, FlushTally b) => new(a.Commits + b.Commits, a.Flushes + b.Flushes, a.FlushSeconds + b.FlushSeconds);
}
