using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// Makes commits durable: the ordered-msync protocol of docs/format.md §8, shared by every committer (group commit).
/// </summary>
/// <remarks>
/// A commit hands over its meta record and dirty page ranges and is then visible in memory. A flush takes every
/// commit handed over since the last durable one and
/// <list type="number">
/// <item>msyncs the span of their pages (one call, so one device flush; never the whole map),</item>
/// <item>writes the newest meta record into the slot that does not hold the durable meta,</item>
/// <item>msyncs that meta page.</item>
/// </list>
/// Invariant D1: a meta record reaches the map only after every page it references is durable. So a meta slot in
/// the map or on disk is always complete, whatever the OS writes back and whenever the machine stops.
/// Invariant D2: after a failed msync or fsync the outcome is unknown, so the pipeline is poisoned: no later flush
/// writes a meta record, and new writes are refused until the database is reopened.
/// </remarks>
internal sealed class CommitPipeline : IDisposable
{
    private readonly IStorage _storage;
    private readonly int _pageSize;
    private readonly object _gate = new();          // guards the five fields below
    private List<(long First, long Pages)> _ranges = new();
    private MetaRecord _latest;
    private bool _hasPending;
    private long _latestTxn;                         // newest commit handed over, flushed or not
    private long _pendingPages;                      // pages in _ranges
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private long _flushCount;
    private long _durableTxn;
    private int _durableSlot;
    private volatile Exception? _poison;

    public CommitPipeline(IStorage storage, int pageSize, long durableTxn, int durableSlot)
    {
        _storage = storage;
        _pageSize = pageSize;
        _durableTxn = _latestTxn = _flushedTxn = durableTxn;
        _durableSlot = durableSlot;
    }

    public long DurableTxn => Volatile.Read(ref _durableTxn);

    /// <summary>
    /// The newest meta a flush has taken: durable, or being written now. No meta older than
    /// <see cref="DurableTxn"/> or newer than this can be recovered after a crash, and every later flush takes a
    /// meta at least as new as the newest commit handed over (rule R2b in PageAllocator relies on both).
    /// </summary>
    public long FlushedTxn => Volatile.Read(ref _flushedTxn);
    private long _flushedTxn;

    /// <summary>Set once a flush failed; new write transactions must refuse to start (D2).</summary>
    public Exception? Poison => _poison;

    /// <summary>Pages written by commits not yet taken by a flush, for the deferred-flush threshold.</summary>
    public long PendingPages => Volatile.Read(ref _pendingPages);

    /// <summary>The newest commit handed over.</summary>
    public long LatestTxn { get { lock (_gate) return _latestTxn; } }

    /// <summary>Flushes that wrote a meta record: with group commit, fewer than the commits they covered.</summary>
    public long FlushCount => Volatile.Read(ref _flushCount);

    /// <summary>Queues a commit for the next flush. Called under the writer lock, so commits arrive in txn order.</summary>
    public void Enqueue(in MetaRecord meta, List<(long First, long Pages)> ranges)
    {
        lock (_gate)
        {
            _ranges.AddRange(ranges);
            foreach (var r in ranges) _pendingPages += r.Pages;
            _latest = meta;
            _hasPending = true;
            _latestTxn = meta.TxnId;
        }
    }

    /// <summary>Returns once <paramref name="txnId"/> (and everything before it) is durable, flushing if needed.</summary>
    public void WaitDurable(long txnId)
    {
        while (DurableTxn < txnId)
        {
            ThrowIfPoisoned();
            _flushLock.Wait();
            try { if (DurableTxn < txnId) FlushLocked(); }
            finally { _flushLock.Release(); }
        }
    }

    // Async waiters are served by one dedicated flusher thread, so no thread-pool thread ever blocks in msync.
    private readonly List<(long TxnId, TaskCompletionSource Done)> _asyncWaiters = new(); // guarded by _gate
    private readonly SemaphoreSlim _flushRequested = new(0);
    private Thread? _flusher;
    private volatile bool _stopping;

    /// <summary>
    /// Asynchronous <see cref="WaitDurable"/>: completes once <paramref name="txnId"/> is durable. The flush runs on
    /// a dedicated flusher thread, never on the caller's (thread-pool) thread. Cancelling stops the wait only: the
    /// commit stays committed and becomes durable with the next flush.
    /// </summary>
    public Task WaitDurableAsync(long txnId, CancellationToken cancellationToken)
    {
        if (DurableTxn >= txnId) return Task.CompletedTask;
        ThrowIfPoisoned();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _asyncWaiters.Add((txnId, done));
            if (_flusher is null)
            {
                _flusher = new Thread(FlusherLoop) { IsBackground = true, Name = "MmapKv flusher" };
                _flusher.Start();
            }
        }
        _flushRequested.Release();
        return done.Task.WaitAsync(cancellationToken);
    }

    private void FlusherLoop()
    {
        while (true)
        {
            _flushRequested.Wait();
            while (true)
            {
                List<(long TxnId, TaskCompletionSource Done)> waiting;
                lock (_gate)
                {
                    if (_asyncWaiters.Count == 0) break;
                    waiting = new(_asyncWaiters);
                    _asyncWaiters.Clear();
                }
                long target = 0;
                foreach (var w in waiting) target = Math.Max(target, w.TxnId);
                Exception? failure = null;
                try { WaitDurable(target); }
                catch (Exception e) { failure = e; }
                foreach (var (_, done) in waiting)
                {
                    if (failure is null) done.TrySetResult();
                    else done.TrySetException(failure);
                }
            }
            if (_stopping) return; // no waiter can register once stopping is set
        }
    }

    /// <summary>Makes every commit handed over so far durable, including one another thread is flushing now.</summary>
    public void FlushAll()
    {
        long target;
        lock (_gate) target = _latestTxn;
        WaitDurable(target);
    }

    /// <summary>
    /// D2 for failures outside a flush: an fsync that failed while growing the file may have dropped dirty pages
    /// of commits not yet flushed (the kernel can mark them clean), so nothing written since the last durable
    /// meta can be trusted to reach the disk. Running out of space is not such a failure.
    /// </summary>
    public void PoisonIfStorageFailed(Exception e)
    {
        if (e is StorageFailedException) _poison ??= e;
    }

    /// <summary>
    /// Grows the file under the flush lock. The fsync inside growth can be the call that reports a writeback
    /// error for pages of a batch being flushed (Linux reports such an error once per open file), so growth and
    /// flushes must not overlap, and a failure poisons the pipeline before any flush can run again (D2).
    /// </summary>
    public void Grow(long newLength)
    {
        _flushLock.Wait();
        try
        {
            ThrowIfPoisoned();
            _storage.Grow(newLength);
        }
        catch (StorageFailedException e)
        {
            _poison ??= e;
            throw;
        }
        finally
        {
            _flushLock.Release();
        }
    }

    private void ThrowIfPoisoned()
    {
        if (_poison is { } p) throw new StorageFailedException("An earlier flush failed; the database must be reopened before it accepts writes. " + p.Message, 0, p);
    }

    private void FlushLocked()
    {
        // Checked under the flush lock (D2): a committer that queued behind a flush which then failed must not
        // write a meta record. Its batch may reference pages of the failed batch that never reached the disk and
        // that the kernel now considers clean, so a later msync would not write them either.
        ThrowIfPoisoned();
        List<(long First, long Pages)> ranges;
        MetaRecord meta;
        lock (_gate)
        {
            if (!_hasPending) return;
            ranges = _ranges;
            meta = _latest;
            // Under the gate, like Enqueue: a commit handed over after this point is newer than the meta taken here.
            Volatile.Write(ref _flushedTxn, meta.TxnId);
            _ranges = new();
            _hasPending = false;
            _pendingPages = 0;
        }
        try
        {
            // 1. Data first (D1), in one msync spanning this flush's pages. Each msync call ends in a device cache
            //    flush, so one call over the span is far cheaper than one per range; the kernel writes only the
            //    dirty pages inside it. Anything else dirty in the span is either ours or a page no durable state
            //    references (quarantine), so writing it early is harmless.
            long low = long.MaxValue, high = long.MinValue;
            foreach (var (first, pages) in ranges)
            {
                low = Math.Min(low, first);
                high = Math.Max(high, first + pages);
            }
            if (high > low) _storage.Flush(low * _pageSize, (high - low) * _pageSize);

            // 2–3. The meta goes into the slot not holding the durable meta: if this write tears, that one survives.
            int slot = 1 - _durableSlot;
            MetaSlots.Write(_storage, slot, meta);
            _storage.Flush((long)slot * _pageSize, _pageSize);
            _durableSlot = slot;
            Volatile.Write(ref _durableTxn, meta.TxnId);
            Interlocked.Increment(ref _flushCount);
        }
        catch (Exception e)
        {
            _poison = e;
            throw;
        }
    }

    /// <summary>Stops the flusher thread (after it served every waiter) and releases the locks.</summary>
    public void Dispose()
    {
        Thread? flusher;
        lock (_gate)
        {
            _stopping = true;
            flusher = _flusher;
        }
        _flushRequested.Release();
        flusher?.Join();
        _flushLock.Dispose();
        _flushRequested.Dispose();
    }
}
