using MmapKv.Format;

namespace MmapKv.Transactions;

/// <summary>
/// Holds the newest committed state and the close gate. Publishing and closing take the same lock, so a commit
/// is either published before close (and then covered by the close-time flush, docs/durability.md §12.1) or
/// refused; none can slip in after the close-time flush started.
/// </summary>
/// <remarks>
/// A commit publishes its meta record, not an object: the <see cref="Snapshot"/> that readers take is made from the
/// newest record on first demand (<see cref="Current"/>), so a stream of commits with no reader between them
/// allocates no snapshots, and a reader gets the same object as every other reader of that commit. The publication
/// point is the write of <see cref="LatestTxn"/>; a reader that registers its slot and then reads
/// <see cref="Current"/> (a full fence between them, ReaderTable) sees every commit published before it.
/// </remarks>
internal sealed class SnapshotPublisher
{
    private readonly object _closeGate = new(); // guards _latest, and the making of _current
    private readonly CommitPipeline _pipeline;
    private Snapshot _current;   // the newest commit as an object, made on demand; may lag _latest
    private MetaRecord _latest;  // the newest commit's record; written only by Publish
    private long _latestTxn;     // _latest.TxnId, written last: the publication point
    private volatile bool _closed; // set under _closeGate by Close: no commit publishes, open transactions fail

    public SnapshotPublisher(CommitPipeline pipeline, Snapshot initial)
    {
        _pipeline = pipeline;
        _current = initial;
        _latest = initial.Meta;
        _latestTxn = initial.TxnId;
    }

    /// <summary>
    /// The lock file's state when other processes may share the database (null: exclusive): a commit is also
    /// published there, and a newer commit of another process found there becomes <see cref="Current"/>.
    /// </summary>
    public SharedState? Shared { get; set; }

    /// <summary>
    /// Called with a foreign commit's page count before it is adopted: makes the map cover it, or throws
    /// (the file outgrew this process's MaxSize).
    /// </summary>
    public Action<long>? CoverPages { get; set; }

    /// <summary>The newest commit visible to new transactions (of any process, when shared).</summary>
    public Snapshot Current
    {
        get
        {
            if (Shared is { } shared && shared.LatestTxn != Volatile.Read(ref _latestTxn)) AdoptForeign(shared);
            var s = Volatile.Read(ref _current);
            return s.TxnId == Volatile.Read(ref _latestTxn) ? s : Materialize();
        }
    }

    /// <summary>
    /// Makes the newest commit published in the lock file (by another process) this database's newest. Txn ids
    /// only grow across processes (every writer starts from the newest), so an older record is never adopted.
    /// </summary>
    private void AdoptForeign(SharedState shared)
    {
        var meta = shared.ReadLatest();
        CoverPages?.Invoke(meta.PageCount);
        lock (_closeGate)
        {
            if (meta.TxnId <= _latestTxn) return;
            _latest = meta;
            Volatile.Write(ref _latestTxn, meta.TxnId);
        }
    }

    /// <summary>A writer taking over from another process starts from <paramref name="meta"/>, the newest commit.</summary>
    public void AdoptForWriter(in MetaRecord meta)
    {
        lock (_closeGate)
        {
            if (meta.TxnId < _latestTxn) return;
            _latest = meta;
            Volatile.Write(ref _latestTxn, meta.TxnId);
        }
    }

    /// <summary>The id of the newest commit (<see cref="Current"/>'s, without making the object).</summary>
    public long LatestTxn => Volatile.Read(ref _latestTxn);

    /// <summary>The newest commit's record, for the writer: under the writer lock, the only lock under which it changes.</summary>
    public MetaRecord LatestMetaForWriter => _latest;

    private Snapshot Materialize()
    {
        lock (_closeGate)
        {
            if (_current.TxnId != _latestTxn) Volatile.Write(ref _current, new Snapshot(_latest));
            return _current;
        }
    }

    /// <summary>The database's part of the meter: counts each commit published and stamps its time (set once at open).</summary>
    public Diagnostics.DatabaseMetrics? Metrics { get; set; }

    /// <summary>Whether the database was closed; open transactions check it and throw <see cref="ObjectDisposedException"/>.</summary>
    public bool IsClosed => _closed;

    /// <summary>Makes a commit visible to new transactions and queues it for flushing. Under the writer lock, so
    /// commits arrive in txn order.</summary>
    /// <exception cref="ObjectDisposedException">The database was closed: the commit is refused, so that every
    /// commit that returned before close is covered by its flush.</exception>
    public void Publish(in MetaRecord meta, List<(long First, long Pages)> ranges)
    {
        lock (_closeGate)
        {
            ObjectDisposedException.ThrowIf(_closed, typeof(KvDatabase));
            Metrics?.Published(meta.TxnId); // before the hand-over: the flush that takes it reads the stamp
            _pipeline.Enqueue(meta, ranges);
            _latest = meta;
            Volatile.Write(ref _latestTxn, meta.TxnId);
            Shared?.Publish(meta); // after the pipeline has it: another process's writer may flush it from there on
        }
    }

    /// <summary>From here on no commit is published.</summary>
    public void Close()
    {
        lock (_closeGate) _closed = true;
    }
}
