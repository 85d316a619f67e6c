using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Checking;
using MmapKv.Diagnostics;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Storage;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// An open MmapKv database file. Thread-safe: any number of read transactions run alongside one write transaction.
/// </summary>
public sealed partial class KvDatabase : IDisposable, IDatabaseGauges
{
    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private readonly ReaderTable _readers;
    // The lock file's state when other processes may share the database; null with KvOptions.Exclusive (and for
    // a read-only open that cannot use a lock file). See KvDatabase.Shared.cs.
    private readonly SharedState? _shared;
    // The idle state object of each reader slot (null while a transaction holds it, or before its first use).
    // Indexed like the reader table, whose slot claim makes the holder its only user (see ReadState).
    private readonly ReadState?[] _readStates;
    private readonly PageAllocator? _allocator;
    // The commit the allocator's free space describes: the writer's own last commit, or the one it took over from
    // another process. A newer commit in the lock file means another process wrote since (KvDatabase.Shared.cs).
    private long _allocatorTxn;
    private readonly SnapshotPublisher _publisher;
    private readonly DurabilityPolicy _durability;
    private int _references = 1;   // the database itself, plus one per open transaction (the map lives while > 0)
    private int _disposed;         // Dispose was called: no new transactions start
    private readonly Func<Snapshot> _currentGetter;
    private string? _writerSite;   // where the open write transaction started, with TrackTransactions
    private readonly DatabaseMetrics _metrics; // the "MmapKv" meter of this database (docs/metrics.md)

    internal IStorage Storage { get; }
    internal CommitPipeline Pipeline { get; }
    internal KvOptions Options { get; }
    internal FileGrowth? Growth { get; }

    /// <summary>What every write transaction reuses (the tree writer's scratch); null when read-only.</summary>
    internal WriterSession? Writer { get; }
    // Behind every WriteTransaction handle (made at the first BeginWrite, under the writer lock).
    private WriteState? _writeState;

    /// <summary>The in-memory half of every commit; null when read-only.</summary>
    internal CommitBuilder? Committer { get; }

    /// <summary>The file's page size in bytes.</summary>
    public int PageSize { get; }

    /// <summary>The longest key this database accepts, in bytes (996 with 4 KiB pages).</summary>
    public int MaxKeySize { get; }

    /// <summary>The file path.</summary>
    public string Path { get; }

    /// <summary>Id of the newest commit visible to new transactions.</summary>
    public long LastTxnId => Current.TxnId;

    /// <summary>Id of the newest commit known to be on stable storage.</summary>
    public long DurableTxnId => _shared is null ? Pipeline.DurableTxn : Math.Max(Pipeline.DurableTxn, _shared.Durable.TxnId);

    internal Snapshot Current => _publisher.Current;

    /// <summary>
    /// <paramref name="meta"/> is the newest commit, <paramref name="durableTxn"/> (in <paramref name="metaSlot"/>)
    /// the durable one; they differ only for a process that joins a shared database whose newest commit is not
    /// durable yet. A joiner (<paramref name="joined"/>) loads its free space at its first write, under the writer
    /// lock, when no other process can be changing it.
    /// </summary>
    private KvDatabase(string path, IStorage storage, KvOptions options, MetaRecord meta, long durableTxn, int metaSlot,
        SharedState? shared, bool joined)
    {
        Path = path;
        Storage = storage;
        Options = options;
        PageSize = meta.PageSize;
        MaxKeySize = Limits.MaxKeySize(PageSize);
        _shared = shared;
        _readers = shared is null
            ? new ReaderTable(options.MaxReaders, options.LeakedReaderGracePeriod, options.TrackTransactions)
            : SharedReaders(shared, options, () => Current);
        _readStates = new ReadState?[_readers.Capacity];
        Pipeline = new CommitPipeline(storage, PageSize, durableTxn, metaSlot) { Shared = shared, WriterBusy = () => _writerLock.CurrentCount == 0 };
        _publisher = new SnapshotPublisher(Pipeline, new Snapshot(meta)) { Shared = shared, CoverPages = CoverPages };
        _currentGetter = () => Current;
        if (!storage.IsReadOnly)
        {
            if (joined)
            {
                _allocator = new PageAllocator();
                _allocatorTxn = -1; // never equals a commit: the first write takes over
            }
            else
            {
                _allocator = new PageAllocator(ContextAt(meta.PageCount), meta.FreeMapPage, meta.FreeMapPages);
                FreeMapAudit.CheckNodesNotFree(ContextAt(meta.PageCount), meta, MaxKeySize, _allocator.Pool);
                _allocatorTxn = meta.TxnId;
            }
            _allocator.DeltaCapacity = options.FreeMapDeltaCapacity;
            Growth = new FileGrowth(storage, Pipeline, _allocator, OldestReaderForSpace, PageSize);
        }
        // Created last: it starts the interval timer, and if loading the free map throws, no timer is left behind.
        _durability = new DurabilityPolicy(Pipeline, options, PageSize, writable: !storage.IsReadOnly);
        if (!storage.IsReadOnly)
        {
            Writer = new WriterSession(PageSize);
            Committer = new CommitBuilder(_publisher, Pipeline, _durability, PageSize);
        }
        // After everything that can fail: a meter left behind by a failed open would report a database that is not there.
        _metrics = new DatabaseMetrics(path, this, writable: !storage.IsReadOnly);
        Pipeline.Metrics = _publisher.Metrics = _metrics;
        if (_allocator is not null) _metrics.SpaceSampled(_allocator.Pool.Count, _allocator.PendingCount);
    }

    long IDatabaseGauges.FileBytes => Storage.Length;

    int IDatabaseGauges.ActiveReaders(out TimeSpan oldestAge) => _readers.Summarize(out oldestAge);

    /// <summary>
    /// Opens the database at <paramref name="path"/>, creating it if it does not exist (unless read-only).
    /// </summary>
    /// <exception cref="CorruptDatabaseException">The file is not an MmapKv database or is damaged.</exception>
    /// <exception cref="IncompatibleFormatException">The file was written by an incompatible format version.</exception>
    /// <exception cref="DatabaseLockedException">The file is open with <see cref="KvOptions.Exclusive"/> in another
    /// process or instance, or this open asks for <see cref="KvOptions.Exclusive"/> and another one has it open.</exception>
    /// <exception cref="FileNotFoundException">Read-only open of a file that does not exist (names the path).</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist, or a
    /// component of it is not a directory.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its directory may not be opened or created (EACCES, EPERM).</exception>
    /// <exception cref="IOException">The path is not a regular file (a directory, device, FIFO or socket; the message
    /// says which), the file system is read-only for a read-write open (open with <see cref="KvOptions.ReadOnly"/>),
    /// the address space for <see cref="KvOptions.MaxSize"/> cannot be reserved, or another open failure (errno in
    /// the message). <see cref="StorageFailedException"/> is never raised for a bad path: it means a write-back failed.</exception>
    public static KvDatabase Open(string path, KvOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new KvOptions();
        options.Validate();
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("MmapKv requires a little-endian CPU.");
        path = System.IO.Path.GetFullPath(path);
        // Path.Exists, not File.Exists: a directory (or a FIFO, device, socket) at the path is not "missing", and
        // creating a database next to it would only fail later; opening it gives the error that names what it is.
        if (!System.IO.Path.Exists(path) && !options.ReadOnly) DatabaseFormatter.CreateFile(path, options);
        // Where the lock file's locks are not available (macOS), every open is exclusive (docs/durability.md §14.1).
        if (!options.Exclusive && !LockFile.IsSupported) options = options with { Exclusive = true };
        var storage = MappedStorage.Open(path, options.ReadOnly, options.MaxSize, createNew: false, 0, exclusiveLock: options.Exclusive);
        try
        {
            if (storage.Length > options.MaxSize)
                throw new ArgumentException($"The file is {storage.Length} bytes, larger than MaxSize ({options.MaxSize}). Open it with a larger MaxSize.", nameof(options));
            if (!options.Exclusive) return OpenShared(path, storage, options);
            if (!options.ReadOnly && File.Exists(LockFile.PathFor(path))) return OpenExclusiveAfterSharing(path, storage, options);
            return Open(path, storage, options, null);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>Opens a database over any storage (the real map, or a simulated one in tests), exclusively.</summary>
    internal static KvDatabase Open(string path, IStorage storage, KvOptions options) => Open(path, storage, options, null);

    /// <summary>
    /// Opens a database over any storage, shared through <paramref name="lockFile"/>: the crash simulation runs
    /// several openers over one simulated storage and one simulated lock file.
    /// </summary>
    internal static KvDatabase OpenShared(string path, IStorage storage, KvOptions options, ILockFile lockFile)
    {
        var shared = SharedState.Open(lockFile, MetaSlots.Select(storage).Meta.PageSize);
        try { return Open(path, storage, options, shared); }
        catch
        {
            shared.Dispose();
            throw;
        }
    }

    private static KvDatabase Open(string path, IStorage storage, KvOptions options, SharedState? shared)
    {
        if (shared is { Rebuilt: false }) return Join(path, storage, options, shared);
        // The storage measured the file before this process became its sole opener; processes that have gone since
        // may have grown it, and their commits are in the meta slots. Take the file's length as it is now.
        if (shared is not null) storage.CoverAtOpen(storage.Length, isDatabase: false); // not validated yet
        var chosen = MetaSlots.Select(storage);
        var latest = chosen.Meta;
        if (shared is not null && Adoptable(shared, storage, chosen) is { } inherited)
        {
            // A process of this boot died (or closed without its final flush) with Deferred commits that only the
            // page cache holds, and the lock file still names the newest (docs/durability.md §14.4).
            if (storage.IsReadOnly) latest = inherited; // seen here; made durable by the next read-write open
            else latest = (chosen = MakeInheritedDurable(storage, chosen, inherited)).Meta;
        }
        if (!storage.IsReadOnly) MetaSlots.MakeDurable(storage, chosen); // R2 and D4 before any page is reused
        if (shared is not null)
        {
            var durable = chosen.Meta;
            shared.Build(options.MaxReaders + ReaderTable.InternalSlots, latest, durable, chosen.Slot);
        }
        return new KvDatabase(path, storage, options, latest, chosen.Meta.TxnId, chosen.Slot, shared, joined: false);
    }

    /// <summary>Starts a read transaction on the newest commit. Never blocks, and allocates nothing (unless
    /// <see cref="KvOptions.TrackTransactions"/> is on).</summary>
    /// <exception cref="ReaderSlotsFullException">All <see cref="KvOptions.MaxReaders"/> slots are held by open read
    /// transactions (the message names the oldest).</exception>
    public ReadTransaction BeginRead() => BeginRead(internalUse: false);

    /// <summary>
    /// A read transaction; <paramref name="internalUse"/> takes one of the reader slots kept for the database's
    /// own reads (Check, GetStats, CopyTo), so they work however many user readers are open (L1).
    /// </summary>
    internal ReadTransaction BeginRead(bool internalUse)
    {
        AddReference();
        try
        {
            string? site = Options.TrackTransactions ? CallSite() : null;
            int slot = _readers.TryAcquire(_currentGetter, internalUse, site, out var snapshot);
            if (slot < 0)
            {
                ReclaimAbandonedReaders();
                ReclaimDeadReaders();
                slot = _readers.TryAcquire(_currentGetter, internalUse, site, out snapshot);
                if (slot < 0) throw _readers.FullError();
            }
            try
            {
                // The slot is ours alone, and so is its state object. Taken out of the array while in use, so that
                // a transaction whose handles are all dropped leaves it unreachable for its finalizer (L2).
                var state = _readStates[slot] ?? new ReadState(this, slot, snapshot);
                _readStates[slot] = null;
                long generation = state.Begin(snapshot);
                return new ReadTransaction(state, generation, snapshot.TxnId);
            }
            catch
            {
                _readers.Release(slot);
                throw;
            }
        }
        catch
        {
            ReleaseReference();
            throw;
        }
    }

    /// <summary>
    /// Called once when a read transaction ends, after its generation was retired: its state object goes back to
    /// the slot before the slot is freed, so the next claimer of the slot finds it.
    /// </summary>
    internal void EndRead(int slot, ReadState state)
    {
        Volatile.Write(ref _readStates[slot], state);
        _readers.Release(slot);
        ReleaseReference();
    }

    /// <summary>
    /// Called by the finalizer of a read transaction that was never disposed. Its slot keeps protecting the
    /// snapshot for the grace period; a later reclaim frees it and drops its reference (L2).
    /// </summary>
    internal void AbandonRead(int slot) => _readers.Abandon(slot);

    /// <summary>Frees the slots of abandoned readers whose grace period has passed, with the references they held.</summary>
    private void ReclaimAbandonedReaders()
    {
        for (int n = _readers.ReclaimAbandoned(); n > 0; n--) ReleaseReference();
    }

    private static string CallSite() => new System.Diagnostics.StackTrace(2, fNeedFileInfo: true).ToString();

    /// <summary>Starts the write transaction, waiting while another one is open.</summary>
    /// <exception cref="InvalidOperationException">The database is read-only.</exception>
    /// <exception cref="StorageFailedException">An earlier flush failed; reopen the database.</exception>
    public WriteTransaction BeginWrite() => BeginWrite(Timeout.InfiniteTimeSpan);

    /// <summary>Starts the write transaction, waiting at most <paramref name="timeout"/> while another one is open.</summary>
    /// <exception cref="TimeoutException">Another write transaction stayed open for the whole timeout (the message
    /// says where it was started when <see cref="KvOptions.TrackTransactions"/> is on).</exception>
    /// <exception cref="InvalidOperationException">The database is read-only.</exception>
    /// <exception cref="StorageFailedException">An earlier flush failed; reopen the database.</exception>
    public WriteTransaction BeginWrite(TimeSpan timeout)
    {
        ThrowIfNotWritable();
        CheckTimeout(timeout);
        AddReference();
        bool entered;
        try { entered = _writerLock.Wait(timeout); }
        catch { ReleaseReference(); throw; }
        if (!entered)
        {
            ReleaseReference();
            throw WriterTimeout(timeout);
        }
        return StartWriteLocked(timeout);
    }

    /// <summary>Starts the write transaction, awaiting (not blocking) while another one is open.</summary>
    public ValueTask<WriteTransaction> BeginWriteAsync(CancellationToken cancellationToken = default) =>
        BeginWriteAsync(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Starts the write transaction, awaiting at most <paramref name="timeout"/> while another one is open.</summary>
    /// <exception cref="TimeoutException">Another write transaction stayed open for the whole timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled first.</exception>
    public async ValueTask<WriteTransaction> BeginWriteAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        CheckTimeout(timeout);
        AddReference();
        bool entered;
        try { entered = await _writerLock.WaitAsync(timeout, cancellationToken).ConfigureAwait(false); }
        catch { ReleaseReference(); throw; }
        if (!entered)
        {
            ReleaseReference();
            throw WriterTimeout(timeout);
        }
        return StartWriteLocked(timeout);
    }

    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative (or Timeout.InfiniteTimeSpan).");
    }

    private TimeoutException WriterTimeout(TimeSpan timeout)
    {
        string? site = Volatile.Read(ref _writerSite);
        return new TimeoutException(
            $"Timed out after {timeout.TotalMilliseconds:0} ms waiting to begin a write transaction: another write transaction is still open " +
            "(one writer at a time; commit or dispose it). " +
            (site is null ? "Set KvOptions.TrackTransactions = true to record where it was started." : "It was started at:\n" + site));
    }

    private void ThrowIfNotWritable()
    {
        if (Storage.IsReadOnly) throw new InvalidOperationException("The database was opened read-only.");
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    /// <summary>
    /// Under this database's writer lock: takes the cross-process one too when shared (waiting at most
    /// <paramref name="timeout"/> more; an async caller's thread blocks for that part), then starts the transaction.
    /// </summary>
    private WriteTransaction StartWriteLocked(TimeSpan timeout)
    {
        try
        {
            ObjectDisposedException.ThrowIf(IsClosed, this); // disposed while this writer waited for the lock
            if (_shared is not null && !_shared.TryTakeWriter(timeout))
                throw new TimeoutException($"Timed out after {timeout.TotalMilliseconds:0} ms waiting to begin a write transaction: another process has one open (one writer at a time across processes).");
            if (Pipeline.Poison is { } poison)
                throw new StorageFailedException("A flush failed earlier; the database refuses writes until it is reopened.", 0, poison);
            Storage.VerifyLength();
            if (_publisher.LatestTxn == long.MaxValue) // the next id would not fit the format (M1); only a damaged file gets here
                Corrupt.Throw("the transaction id is at its maximum; the file's meta record is damaged");
            ReclaimAbandonedReaders();
            if (_shared is not null) TakeOverIfAnotherProcessWrote();
            // Reuse rules R1, R2 and R2b (PageAllocator).
            _allocator!.Release(OldestReader(), Pipeline.DurableTxn, Pipeline.FlushedTxn);
            if (Options.TrackTransactions) Volatile.Write(ref _writerSite, CallSite());
            _writeState ??= new WriteState(this);
            return new WriteTransaction(_writeState, _writeState.Begin(_publisher.LatestMetaForWriter, _allocator));
        }
        catch
        {
            EndWrite();
            throw;
        }
    }

    /// <summary>Called once by the write transaction when it ends, committed or not.</summary>
    internal void EndWrite()
    {
        _metrics.SpaceSampled(_allocator!.Pool.Count, _allocator.PendingCount); // still under the writer lock
        Volatile.Write(ref _writerSite, null);
        if (_shared is not null) EndSharedWrite();
        _writerLock.Release();
        ReleaseReference();
    }

    /// <summary>The page view of a snapshot with <paramref name="pageCount"/> pages.</summary>
    internal unsafe PageContext ContextAt(long pageCount, PageVerifier? verifier = null) => new(Storage.Base, PageSize, pageCount, verifier);

    /// <summary>Whether <see cref="Dispose"/> was called; open transactions check it and throw <see cref="ObjectDisposedException"/>.</summary>
    internal bool IsClosed => _publisher.IsClosed;

    /// <summary>Makes every commit so far durable (the deferred ones included).</summary>
    /// <exception cref="StorageFailedException">The flush failed; writes are refused until the database is reopened.</exception>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Storage.IsReadOnly) return;
        Pipeline.FlushAll();
        if (_shared is not null) FlushOtherProcessesCommits();
    }

    /// <summary>Runs the full integrity check (see docs/format.md §9) on the newest commit.</summary>
    /// <remarks>Works however many read transactions are open: it has a reader slot of its own.</remarks>
    public CheckReport Check()
    {
        using var tx = BeginRead(internalUse: true);
        return DatabaseChecker.Run(tx.Context, tx.SnapshotMeta, MaxKeySize, Storage.Length);
    }

    /// <summary>Sizes and counts of the newest commit, and the open read transactions.</summary>
    /// <remarks>Works however many read transactions are open: it has a reader slot of its own.</remarks>
    public KvStats GetStats()
    {
        using var tx = BeginRead(internalUse: true);
        ReclaimDeadReaders(); // under the transaction's reference: the table's memory is there
        return KvStats.Collect(tx, Storage.Length, _readers.Snapshot(), _allocator?.PendingCount ?? 0);
    }

    private void AddReference()
    {
        while (true)
        {
            int r = Volatile.Read(ref _references);
            ObjectDisposedException.ThrowIf(r == 0 || Volatile.Read(ref _disposed) != 0, this);
            if (Interlocked.CompareExchange(ref _references, r + 1, r) == r) return;
        }
    }

    private void ReleaseReference()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        // Last user gone (Dispose already flushed and closed the file): unmap. Never earlier, because a live
        // transaction's spans point into the map.
        _readers.Locks?.Dispose(); // stops its timer, which reads the newest commit, before the map goes away
        Pipeline.Dispose(); // stops the flusher thread before the map goes away
        Storage.Dispose();
        _readers.Dispose();
        _shared?.Dispose(); // the reader slots were in its map
        _writerLock.Dispose();
    }

    /// <summary>
    /// Closes the database. When it returns, every commit that returned before it is durable (deferred ones
    /// included) and the file lock is released, so this or another process can open the file at once.
    /// </summary>
    /// <remarks>
    /// Transactions still open are not waited for: their next use throws <see cref="ObjectDisposedException"/>
    /// (a write transaction's changes are discarded), and the map stays until the last of them is disposed or
    /// collected, so spans they handed out never fault.
    /// </remarks>
    /// <exception cref="StorageFailedException">The final flush failed; the file is closed anyway, and the commits
    /// not flushed may be lost.</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _publisher.Close(); // from here on no commit is published (SnapshotPublisher.Publish)
        try
        {
            _durability.Dispose(); // stops the interval timer, waiting for a running flush
            ReclaimAbandonedReaders();
            if (_durability.FlushForClose()) // after the close, so it covers every published commit
            {
                // Give back space allocated ahead of use (no meta references pages past the high-water mark), but
                // only when no transaction is left: a leftover writer may have handed out spans of pages there. The
                // delete reserve stays (FileGrowth), so a full disk cannot take it while the database is closed.
                if (Volatile.Read(ref _references) == 1 && (_shared is null || _shared.TryBecomeSole()))
                    Storage.Shrink(Math.Min(Storage.Length, Current.Meta.PageCount * PageSize + Growth!.ReserveBytes));
            }
        }
        finally
        {
            _metrics.Dispose(); // after the final flush, which it counts
            _shared?.ReleaseLocks(); // the map stays for leftover transactions, like the database's
            Storage.CloseFile(); // releases the lock; the map stays for leftover transactions
            ReleaseReference();
        }
    }
}
