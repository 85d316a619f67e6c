using MmapKv.FreeSpace;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// The one place that decides how the file grows, and what is tried before a write transaction is told the
/// database is full (docs/durability.md §5.1). Used only by the write transaction, under the writer lock.
/// </summary>
/// <remarks>
/// When the pool is empty a transaction takes pages past the high-water mark, and the file must cover them:
/// <list type="number">
/// <item>Growth asks for a geometric step (a quarter of the file, 1 MiB to 256 MiB) and, when the disk refuses,
/// halves the step down to exactly what the transaction needs. A failed attempt leaves the file as it was
/// (<see cref="IStorage.Grow"/> gives back a partial allocation), so the next, smaller attempt can use that space.</item>
/// <item>If even that fails, the quarantine is reclaimed: pages freed by commits that are committed but not yet
/// durable (Durability.Deferred) become reusable (R2) once those commits are flushed; the flush is made, pages no
/// reader can see (R1) go to the pool, and the caller takes from the pool again.</item>
/// <item>A reserve of <see cref="ReserveBytes"/> of allocated file space is kept past what transactions that insert
/// or overwrite may use. A transaction that only deletes may use it once growth fails: a delete needs new pages for
/// copy-on-write before its own frees can be reused (they stay reachable from the durable meta until its commit is
/// durable), so without a reserve a full disk would also refuse the deletes that would make room.</item>
/// </list>
/// </remarks>
internal sealed class FileGrowth : IFileExtender
{
    /// <summary>
    /// Pages kept for delete-only transactions. A delete of k keys spread over the tree shadows at most k leaves,
    /// their branch pages (a few dozen at most, the upper levels are shared), one or two free-map bitmap pages and
    /// the map's directory run. A 200-key delete of random keys in a 35 MiB database (4 KiB pages, tree depth 3) was
    /// measured at 230 pages (DiskFullTests.DeleteOf200RandomKeys_FitsTheReserve pins it), so 512 pages leave about
    /// twice that: a delete of about 400 keys spread over the tree, and any number of adjacent keys, always fits.
    /// </summary>
    public const long ReservePages = 512;

    private readonly IStorage _storage;
    private readonly CommitPipeline _pipeline;
    private readonly PageAllocator _allocator;
    private readonly Func<long> _oldestReader;
    private readonly int _pageSize;

    public FileGrowth(IStorage storage, CommitPipeline pipeline, PageAllocator allocator, Func<long> oldestReader, int pageSize)
    {
        _storage = storage;
        _pipeline = pipeline;
        _allocator = allocator;
        _oldestReader = oldestReader;
        _pageSize = pageSize;
        // A small MaxSize gets a smaller reserve (an eighth of it), so most of the capacity stays usable for inserts.
        ReserveBytes = Math.Min(ReservePages, storage.Capacity / pageSize / 8) * pageSize;
    }

    /// <summary>Allocated file space past the high-water mark kept for delete-only transactions (also kept at close).</summary>
    public long ReserveBytes { get; }

    /// <inheritdoc/>
    public bool Ensure(long pageCount, bool deleteOnly)
    {
        long needed = pageCount * _pageSize;
        long floor = deleteOnly ? needed : needed + ReserveBytes; // the least growth that serves this transaction
        if (floor <= _storage.Length) return true;
        long capacity = _storage.Capacity / _pageSize * _pageSize;
        DatabaseFullException failure;
        if (floor > capacity)
        {
            failure = new DatabaseFullException(needed > capacity
                ? $"The database would need {needed} bytes but MaxSize is {capacity} bytes."
                : $"The database would need {needed} bytes; MaxSize is {capacity} bytes, of which the last {ReserveBytes} are kept so that deletes can run.");
        }
        else
        {
            long length = _storage.Length;
            long target = Math.Max(floor, length + Math.Clamp(length / 4, 1L << 20, 256L << 20));
            target = Math.Min(RoundUp(target), capacity);
            while (true)
            {
                try
                {
                    _pipeline.Grow(target);
                    return true;
                }
                catch (DatabaseFullException e)
                {
                    failure = e;
                    if (target <= floor) break;
                    // Halve the step: the disk may still hold less than was asked, down to what this transaction needs.
                    target = Math.Max(floor, RoundUp(length + (target - length) / 2));
                }
            }
        }
        if (Reclaim()) return false;
        if (floor > capacity) throw failure;
        throw new DatabaseFullException(
            $"No space to grow the database to {floor} bytes ({failure.Message}). Deletes can still use a reserve " +
            $"of {ReserveBytes} bytes; delete in batches.", failure);
    }

    /// <inheritdoc/>
    public long Prefault(long firstPage, long pages)
    {
        long end = Math.Min(firstPage + pages, _storage.Length / _pageSize);
        if (end > firstPage) _storage.Prefault(firstPage * _pageSize, (end - firstPage) * _pageSize);
        return end;
    }

    /// <inheritdoc/>
    public void EndPrefault() => _storage.EndPrefault();

    /// <summary>
    /// Flushes pending commits and moves to the pool every page whose freeing commit is now durable (R2, R2b) and that
    /// no reader can see (R1), as <c>KvDatabase.StartWriteLocked</c> does. Returns whether any page moved.
    /// </summary>
    private bool Reclaim()
    {
        _pipeline.FlushAll(); // safe under the writer lock: it flushes only commits already handed over
        long before = _allocator.PendingCount;
        _allocator.Release(_oldestReader(), _pipeline.DurableTxn, _pipeline.FlushedTxn);
        return _allocator.PendingCount < before;
    }

    private long RoundUp(long bytes) => (bytes + _pageSize - 1) / _pageSize * _pageSize;
}
