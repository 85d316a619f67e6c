namespace MmapKv.Transactions;

/// <summary>
/// Holds the newest committed snapshot and the close gate. Publishing and closing take the same lock, so a commit
/// is either published before close (and then covered by the close-time flush, docs/durability.md §12.1) or
/// refused; none can slip in after the close-time flush started.
/// </summary>
internal sealed class SnapshotPublisher
{
    private readonly object _closeGate = new();
    private readonly CommitPipeline _pipeline;
    private Snapshot _current;
    private volatile bool _closed; // set under _closeGate by Close: no commit publishes, open transactions fail

    public SnapshotPublisher(CommitPipeline pipeline, Snapshot initial)
    {
        _pipeline = pipeline;
        _current = initial;
    }

    /// <summary>The newest commit visible to new transactions.</summary>
    public Snapshot Current => Volatile.Read(ref _current);

    /// <summary>Whether the database was closed; open transactions check it and throw <see cref="ObjectDisposedException"/>.</summary>
    public bool IsClosed => _closed;

    /// <summary>Makes a commit visible to new transactions and queues it for flushing. Under the writer lock, so
    /// commits arrive in txn order.</summary>
    /// <exception cref="ObjectDisposedException">The database was closed: the commit is refused, so that every
    /// commit that returned before close is covered by its flush.</exception>
    public void Publish(Snapshot snapshot, List<(long First, long Pages)> ranges)
    {
        lock (_closeGate)
        {
            ObjectDisposedException.ThrowIf(_closed, typeof(KvDatabase));
            _pipeline.Enqueue(snapshot.Meta, ranges);
            Volatile.Write(ref _current, snapshot);
        }
    }

    /// <summary>From here on no commit is published.</summary>
    public void Close()
    {
        lock (_closeGate) _closed = true;
    }
}
