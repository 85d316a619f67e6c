using System.Diagnostics;
using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// Makes commits durable: the one-flush protocol of docs/durability.md §3.2 (format.md §8), shared by every
/// committer (group commit).
/// </summary>
/// <remarks>
/// A commit hands over its meta record and dirty page ranges and is then visible in memory. A flush takes every
/// commit handed over since the last durable one and
/// <list type="number">
/// <item>lists the pages of the batch that the newest state uses, with their checksums (the commit list),</item>
/// <item>writes the newest meta record and that list into the slot that does not hold the durable meta,</item>
/// <item>starts writeback of the batch's ranges and that slot, then issues one device flush (SyncData).</item>
/// </list>
/// Invariant D1: the open trusts a record with a list only if every listed page is on disk as sealed, so the meta
/// may reach the disk before its pages. A batch too large for the list is committed in order instead (pages, one
/// flush, then the meta, a second flush). D3: the slot holding the durable meta is written only after a newer meta
/// is durable. D5: a failed flush retracts its meta from the map. D2: after a failed sync the outcome is unknown,
/// so the pipeline is poisoned: no later flush writes a meta record, and new writes are refused until reopen.
/// Group commit: one committer at a time leads; it flushes while other committers wait for txns not yet durable
/// (up to <see cref="MaxLeadRounds"/> flushes past its own), and every flush wakes all its waiters at once.
/// </remarks>
internal sealed unsafe class CommitPipeline : IDisposable
{
    private readonly IStorage _storage;
    private readonly int _pageSize;
    // Guards _leading, _wanted, _ranges, _latest, _hasPending, _latestTxn, the pending counts, _lastBatch and
    // _committers (_pendingCommits is also read without it, as a hint); waiters wait on it.
    private readonly object _gate = new();
    private bool _leading;                           // a committer is leading flushes (group commit)
    private long _wanted;                            // the newest txn any committer waits for
    private List<(long First, long Pages)> _ranges = new();
    // Reused by every flush, under the flush lock, so a flush allocates nothing: the batch's ranges as taken from
    // _ranges (the two lists swap, so the one taken is cleared and handed back at the next flush), the ranges
    // sorted and merged, the commit list, and the meta page image.
    private List<(long First, long Pages)> _taken = new(); // swapped under _gate too; otherwise the flush lock's
    private readonly List<(long First, long Pages)> _merged = new();
    private readonly List<(long Page, uint Crc)> _list = new();
    private readonly byte[] _metaPage;
    private MetaRecord _latest;
    private bool _hasPending;
    private long _latestTxn;                         // newest commit handed over, flushed or not
    private long _pendingPages;                      // pages in _ranges
    private int _pendingCommits;                     // commits in _ranges (Gather reads it without the gate)
    private int _lastBatch;                          // commits the last flush took
    private readonly RecentCommitters _committers = new();
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
        ListCapacity = CommitList.Capacity(pageSize);
        _metaPage = new byte[pageSize];
    }

    /// <summary>
    /// Most pages a commit list may name; a batch with more is committed in order (two device flushes). The meta
    /// page's room by default; tests lower it to exercise the ordered form.
    /// </summary>
    internal int ListCapacity { get; set; }

    /// <summary>Where flushes are counted and timed (mmapkv.flushes, commits_per_flush, commit.duration); null: not measured.</summary>
    internal Diagnostics.DatabaseMetrics? Metrics { get; set; }

    /// <summary>
    /// The lock file's state when other processes may share the database (null: exclusive). A flush then runs under
    /// the cross-process flush lock, takes the durable slot from the shared state (another process's flush may have
    /// moved it), and records its result there (docs/durability.md §14.2).
    /// </summary>
    internal SharedState? Shared { get; set; }

    /// <summary>
    /// A writer of this process took over from another process (under both writer locks) after making
    /// <paramref name="txnId"/>, the newest commit, durable in <paramref name="slot"/>: everything this pipeline still
    /// holds is older, and durable with it. Wakes every waiter.
    /// </summary>
    public void Adopt(long txnId, int slot)
    {
        _flushLock.Wait();
        try
        {
            lock (_gate)
            {
                _ranges.Clear();
                _pendingPages = 0;
                _pendingCommits = 0;
                _hasPending = false;
                _latestTxn = Math.Max(_latestTxn, txnId);
                _durableSlot = slot;
                Volatile.Write(ref _flushedTxn, Math.Max(_flushedTxn, txnId));
                Volatile.Write(ref _durableTxn, Math.Max(_durableTxn, txnId));
                Monitor.PulseAll(_gate);
            }
        }
        finally { _flushLock.Release(); }
    }

    /// <summary>
    /// Makes <paramref name="meta"/>, the newest commit in the lock file and another process's, durable if no flush
    /// has, and returns the meta slot that holds it (docs/durability.md §14.3 step 1). Its pages were written by a
    /// process whose commit list is not known here, so the commit is ordered (D1): one device flush for every page,
    /// then the meta record and a second. Under this pipeline's flush lock as well as the lock file's: the lock
    /// file's locks belong to the open file, which every thread of this process shares, so only the in-process lock
    /// keeps this pipeline's own flushes out meanwhile (D3). The caller holds the writer lock, so no commit is
    /// published meanwhile.
    /// </summary>
    public int MakeDurableFromLockFile(in MetaRecord meta)
    {
        var shared = Shared ?? throw new InvalidOperationException("Not shared.");
        _flushLock.Wait();
        try
        {
            ThrowIfPoisoned();
            shared.TakeFlush();
            try
            {
                var (durableTxn, durableSlot) = shared.Durable;
                if (durableTxn >= meta.TxnId) return durableSlot;
                int slot = 1 - durableSlot; // D3: the durable meta's slot is written only after a newer one is durable
                shared.NoteFlushed(meta.TxnId);
                _storage.SyncData();
                MetaSlots.Write(_storage, slot, meta);
                _storage.StartWriteback((long)slot * _pageSize, _pageSize);
                _storage.SyncData();
                shared.SetDurable(meta.TxnId, slot);
                return slot;
            }
            finally { shared.ReleaseFlush(); }
        }
        catch (StorageFailedException e)
        {
            _poison ??= e;
            throw;
        }
        finally { _flushLock.Release(); }
    }

    /// <summary>Flushes a leader makes past its own commit while others wait, before it hands the lead over.</summary>
    private const int MaxLeadRounds = 0;

    /// <summary>
    /// Whether a write transaction of this process is open now (set by the database: its writer lock is taken). A new
    /// leader then waits a little for that commit before it flushes, so the flush covers both (<see cref="Gather"/>).
    /// Without a database (a pipeline built by a test), never busy.
    /// </summary>
    internal Func<bool> WriterBusy { get; set; } = static () => false;

    private long _flushTicks; // a moving average of one flush's duration, in Stopwatch ticks

    public long DurableTxn => Volatile.Read(ref _durableTxn);

    /// <summary>
    /// The newest meta a flush has taken: durable, or being written now. No meta older than
    /// <see cref="DurableTxn"/> or newer than this can be recovered after a crash, and every later flush takes a
    /// meta at least as new as the newest commit handed over (rule R2b in PageAllocator relies on both).
    /// </summary>
    public long FlushedTxn => Shared is { } shared ? Math.Max(Volatile.Read(ref _flushedTxn), shared.FlushedTxn) : Volatile.Read(ref _flushedTxn);
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
            _pendingCommits++;
            _latest = meta;
            _hasPending = true;
            _latestTxn = meta.TxnId;
        }
    }

    /// <summary>
    /// Returns once <paramref name="txnId"/> (and everything before it) is durable. If no flush is being led, this
    /// committer leads; otherwise it waits for the leader's flushes, each of which wakes every waiter at once, and
    /// takes over the lead if the leader stops before its txn is durable.
    /// </summary>
    public void WaitDurable(long txnId)
    {
        while (true)
        {
            lock (_gate)
            {
                if (txnId > _wanted) _wanted = txnId;
                _committers.Note(Stopwatch.GetTimestamp());
                while (true)
                {
                    if (DurableTxn >= txnId) return;
                    ThrowIfPoisoned();
                    if (!_leading) break;
                    Monitor.Wait(_gate);
                }
                _leading = true;
            }
            Lead(txnId);
        }
    }

    /// <summary>
    /// Flushes until nothing another committer waits for is pending, or until <see cref="MaxLeadRounds"/> flushes
    /// past <paramref name="txnId"/>. Fails only if <paramref name="txnId"/> itself did not become durable: a later
    /// round's failure is recorded as the poison, which its own waiters then report.
    /// </summary>
    private void Lead(long txnId)
    {
        try
        {
            _flushLock.Wait();
            try
            {
                Gather();
                for (int round = 0; ; round++)
                {
                    long started = Stopwatch.GetTimestamp();
                    FlushLocked();
                    long took = Stopwatch.GetTimestamp() - started;
                    _flushTicks += (took - _flushTicks) / 8;
                    lock (_gate)
                    {
                        Monitor.PulseAll(_gate); // releases every waiter this flush made durable
                        if (!_hasPending || _wanted <= _durableTxn) break;
                        if (_durableTxn >= txnId && round >= MaxLeadRounds) break;
                    }
                }
            }
            finally { _flushLock.Release(); }
        }
        catch (Exception) when (DurableTxn >= txnId)
        {
            // This commit is durable; the failure of a later round is the poison the other waiters now throw.
        }
        finally
        {
            lock (_gate)
            {
                _leading = false;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>
    /// Group commit's gathering step (docs/durability.md §3.5). A committer that starts to lead yields, for at most
    /// half a typical flush (and 2 ms), while a write transaction of this process is open, or while fewer commits are
    /// queued than the threads that lately waited for a durable commit (<see cref="RecentCommitters"/>; counted only
    /// when the last flush took more than one commit), so that the commits being made join this flush instead of
    /// waiting for the next one. A thread a flush released is in neither a write transaction nor a wait while it
    /// prepares its next commit; without the count, closed-loop committers split into two batches that alternate.
    /// A lone committer, and committers whose commits do not overlap, flush at once. Yielding, not sleeping: the
    /// wait is shorter than a timer tick, and on a busy machine yielding is what lets the other writers run.
    /// </summary>
    private void Gather()
    {
        var busy = WriterBusy;
        long now = Stopwatch.GetTimestamp();
        int expected;
        lock (_gate) expected = _lastBatch > 1 ? _committers.CountSince(now - RecentCommitters.Window(_flushTicks)) : 1;
        if (expected <= 1 && !busy()) return;
        long deadline = now + Math.Min(_flushTicks / 2, Stopwatch.Frequency / 500);
        while ((busy() || Volatile.Read(ref _pendingCommits) < expected) && Stopwatch.GetTimestamp() < deadline)
            Thread.Yield();
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
    /// D2 for failures outside a flush: an I/O error while growing the file (an EIO from the allocation) says the
    /// device is failing, so nothing written since the last durable meta is trusted to reach the disk. Running out of
    /// space is not such a failure.
    /// </summary>
    public void PoisonIfStorageFailed(Exception e)
    {
        if (e is StorageFailedException) _poison ??= e;
    }

    /// <summary>
    /// Grows the file under the flush lock, so that growth never overlaps a flush (the Windows backend adds a view
    /// that a flush walks), and a storage failure poisons the pipeline before any flush can run again (D2, G2).
    /// Growth issues no sync: the next flush makes the new length durable with the meta that uses it (S2, §5.1).
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
        // that the kernel now considers clean, so a later sync would not write them either.
        ThrowIfPoisoned();
        var shared = Shared;
        if (shared is null)
        {
            FlushBatch(null);
            return;
        }
        shared.TakeFlush();
        try { FlushBatch(shared); }
        finally { shared.ReleaseFlush(); }
    }

    private void FlushBatch(SharedState? shared)
    {
        List<(long First, long Pages)> ranges;
        MetaRecord meta;
        lock (_gate)
        {
            if (!_hasPending) return;
            ranges = _ranges;
            _ranges = _taken; // empty: cleared when the flush before this one finished
            _taken = ranges;
            meta = _latest;
            // Under the gate, like Enqueue: a commit handed over after this point is newer than the meta taken
            // here. Set before the meta is written, so R2b never lets a writer rewrite a page this meta reaches.
            Volatile.Write(ref _flushedTxn, meta.TxnId);
            _hasPending = false;
            _pendingPages = 0;
            _lastBatch = _pendingCommits;
            _pendingCommits = 0;
        }
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (shared is not null)
        {
            // Another process's flush may have moved the durable meta to the other slot, or (a writer taking over
            // from this process) made this batch durable already.
            var (durableTxn, durableSlot) = shared.Durable;
            _durableSlot = durableSlot;
            if (durableTxn >= meta.TxnId)
            {
                Volatile.Write(ref _durableTxn, meta.TxnId);
                ranges.Clear();
                return;
            }
            shared.NoteFlushed(meta.TxnId);
        }
        // The slot not holding the durable meta (D3): whatever this flush leaves there, torn or unverifiable, the
        // durable meta survives in the other one.
        int slot = 1 - _durableSlot;
        bool metaWritten = false;
        try
        {
            var merged = CommitListBuilder.Coalesce(ranges, _merged);
            if (!CommitListBuilder.Build(_storage.Base, meta, merged, ListCapacity, _list))
            {
                // Ordered: too many pages to list, so the pages are made durable before the meta exists (D1).
                StartWriteback(merged);
                _storage.SyncData();
                metaWritten = true;
                _list.Clear();
                MetaSlots.WriteWithList(_storage, slot, meta, _list, _metaPage);
            }
            else
            {
                metaWritten = true;
                MetaSlots.WriteWithList(_storage, slot, meta, _list, _metaPage);
                StartWriteback(merged);
            }
            // One device flush for the meta (and, with a list, for the pages too). Every StartWriteback before it
            // only starts I/O; none of them flushes the device cache.
            _storage.StartWriteback((long)slot * _pageSize, _pageSize);
            _storage.SyncData();
            Metrics?.Flushed(_durableTxn, meta.TxnId, started); // before _durableTxn moves: the batch is (old, new]
            _durableSlot = slot;
            shared?.SetDurable(meta.TxnId, slot);
            Volatile.Write(ref _durableTxn, meta.TxnId);
            Interlocked.Increment(ref _flushCount);
        }
        catch (Exception e)
        {
            _poison ??= e;
            // D5: the record must not stay in the page cache, where a reopen in this boot would verify its pages
            // from the cache although the kernel may have written them off as clean without writing them.
            if (metaWritten) MetaSlots.Retract(_storage, slot, _pageSize);
            throw;
        }
        finally
        {
            // The taken list goes back empty for the next flush's swap. The lists keep their capacity: 16 bytes per
            // page of the largest batch, well under 1% of the batch's own pages.
            ranges.Clear();
        }
    }

    private void StartWriteback(List<(long First, long Pages)> ranges)
    {
        foreach (var (first, pages) in ranges) _storage.StartWriteback(first * _pageSize, pages * _pageSize);
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
