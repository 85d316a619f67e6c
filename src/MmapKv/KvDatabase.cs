using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Checking;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Storage;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// An open MmapKv database file. Thread-safe: any number of read transactions run alongside one write transaction.
/// </summary>
public sealed partial class KvDatabase : IDisposable
{
    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private readonly ReaderTable _readers;
    private readonly PageAllocator? _allocator;
    private readonly SnapshotPublisher _publisher;
    private readonly DurabilityPolicy _durability;
    private int _references = 1;   // the database itself, plus one per open transaction (the map lives while > 0)
    private int _disposed;         // Dispose was called: no new transactions start
    private readonly Func<Snapshot> _currentGetter;
    private string? _writerSite;   // where the open write transaction started, with TrackTransactions

    internal IStorage Storage { get; }
    internal CommitPipeline Pipeline { get; }
    internal KvOptions Options { get; }
    internal FileGrowth? Growth { get; }

    /// <summary>What every write transaction reuses (the tree writer's scratch); null when read-only.</summary>
    internal WriterSession? Writer { get; }

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
    public long DurableTxnId => Pipeline.DurableTxn;

    internal Snapshot Current => _publisher.Current;

    private KvDatabase(string path, IStorage storage, KvOptions options, MetaRecord meta, int metaSlot)
    {
        Path = path;
        Storage = storage;
        Options = options;
        PageSize = meta.PageSize;
        MaxKeySize = Limits.MaxKeySize(PageSize);
        _readers = new ReaderTable(options.MaxReaders, options.LeakedReaderGracePeriod, options.TrackTransactions);
        Pipeline = new CommitPipeline(storage, PageSize, meta.TxnId, metaSlot);
        _publisher = new SnapshotPublisher(Pipeline, new Snapshot(meta));
        _currentGetter = () => Current;
        if (!storage.IsReadOnly)
        {
            _allocator = new PageAllocator(ContextAt(meta.PageCount), meta.FreeMapPage, meta.FreeMapPages);
            FreeMapAudit.CheckNodesNotFree(ContextAt(meta.PageCount), meta, MaxKeySize, _allocator.Pool);
            Growth = new FileGrowth(storage, Pipeline, _allocator, _readers.OldestSnapshot, PageSize);
        }
        // Created last: it starts the interval timer, and if loading the free map throws, no timer is left behind.
        _durability = new DurabilityPolicy(Pipeline, options, PageSize, writable: !storage.IsReadOnly);
        if (!storage.IsReadOnly)
        {
            Writer = new WriterSession(PageSize);
            Committer = new CommitBuilder(_publisher, Pipeline, _durability, PageSize);
        }
    }

    /// <summary>
    /// Opens the database at <paramref name="path"/>, creating it if it does not exist (unless read-only).
    /// </summary>
    /// <exception cref="CorruptDatabaseException">The file is not an MmapKv database or is damaged.</exception>
    /// <exception cref="IncompatibleFormatException">The file was written by an incompatible format version.</exception>
    /// <exception cref="DatabaseLockedException">Another process or instance has the file open.</exception>
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
        var storage = MappedStorage.Open(path, options.ReadOnly, options.MaxSize, createNew: false, 0);
        try
        {
            if (storage.Length > options.MaxSize)
                throw new ArgumentException($"The file is {storage.Length} bytes, larger than MaxSize ({options.MaxSize}). Open it with a larger MaxSize.", nameof(options));
            return Open(path, storage, options);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>Opens a database over any storage (the real map, or a simulated one in tests).</summary>
    internal static KvDatabase Open(string path, IStorage storage, KvOptions options)
    {
        var chosen = MetaSlots.Select(storage);
        if (!storage.IsReadOnly) MetaSlots.MakeDurable(storage, chosen); // R2 and D4 before any page is reused
        return new KvDatabase(path, storage, options, chosen.Meta, chosen.Slot);
    }

    /// <summary>Starts a read transaction on the newest commit. Never blocks.</summary>
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
                slot = _readers.TryAcquire(_currentGetter, internalUse, site, out snapshot);
                if (slot < 0) throw _readers.FullError();
            }
            return new ReadTransaction(this, snapshot, slot);
        }
        catch
        {
            ReleaseReference();
            throw;
        }
    }

    internal void EndRead(int slot)
    {
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
        return StartWriteLocked();
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
        return StartWriteLocked();
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

    private WriteTransaction StartWriteLocked()
    {
        try
        {
            ObjectDisposedException.ThrowIf(IsClosed, this); // disposed while this writer waited for the lock
            if (Pipeline.Poison is { } poison)
                throw new StorageFailedException("A flush failed earlier; the database refuses writes until it is reopened.", 0, poison);
            Storage.VerifyLength();
            if (Current.TxnId == long.MaxValue) // the next id would not fit the format (M1); only a damaged file gets here
                Corrupt.Throw("the transaction id is at its maximum; the file's meta record is damaged");
            ReclaimAbandonedReaders();
            // Reuse rules R1, R2 and R2b (PageAllocator).
            _allocator!.Release(_readers.OldestSnapshot(), Pipeline.DurableTxn, Pipeline.FlushedTxn);
            if (Options.TrackTransactions) Volatile.Write(ref _writerSite, CallSite());
            return new WriteTransaction(this, Current, _allocator);
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
        Volatile.Write(ref _writerSite, null);
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
        Pipeline.Dispose(); // stops the flusher thread before the map goes away
        Storage.Dispose();
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
                if (Volatile.Read(ref _references) == 1)
                    Storage.Shrink(Math.Min(Storage.Length, Current.Meta.PageCount * PageSize + Growth!.ReserveBytes));
            }
        }
        finally
        {
            Storage.CloseFile(); // releases the lock; the map stays for leftover transactions
            ReleaseReference();
        }
    }
}
