using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.FreeSpace;

/// <summary>
/// The page bookkeeping of one write transaction: what it allocated (its dirty pages, the only ones it may modify
/// in place), what it freed, and how to undo both on abort or hand them to the allocator on commit. The commit
/// steps that read this bookkeeping live apart: <see cref="FreeMapWriter"/> writes the free map, and
/// Transactions.PageSealer checksums the dirty pages; growing the file is an <see cref="IFileExtender"/>.
/// </summary>
/// <remarks>
/// Invariant W1 (copy-on-write): a page is written only if it is dirty, that is, allocated by this transaction.
/// Everything reachable from a committed snapshot is therefore never modified in place.
/// Invariant W2: a dirty page freed again is invisible to every snapshot and returns to this transaction's own
/// reuse list at once; a committed page freed goes to <see cref="_freed"/> and becomes reusable only under the
/// rules of <see cref="PageAllocator"/>.
/// </remarks>
internal sealed unsafe class TransactionPages : IWritablePages
{
    /// <summary>
    /// A transaction that used more entries than this drops its sets instead of clearing them for the next one:
    /// clearing costs their capacity, which a bulk load leaves large, and a small transaction would pay it each time.
    /// </summary>
    private const int ReuseLimit = 1 << 14;

    private readonly byte* _base;
    private readonly PageAllocator _allocator;
    private readonly int _pageSize;
    private readonly IFileExtender _growth; // extends the file (through the commit pipeline), or reclaims, or refuses
    private long _txnId;
    private long _startPageCount;
    private long _pageCount;

    // The sets below are kept from one transaction to the next (see Begin), so that in steady state a transaction
    // allocates no bookkeeping: they keep their capacity.
    private HashSet<long> _dirty = new();                           // single pages allocated here
    private readonly Dictionary<long, long> _dirtyRuns = new();     // runs allocated here: first page -> length
    private List<long> _takenFromPool = new();                      // undo list for abort
    private HashSet<long> _freed = new();                           // committed pages freed here
    private Queue<long>? _mapTouched;                               // while writing the free map: pages whose bit may change
    private Queue<long> _touchedQueue = new();                      // what _mapTouched points to during the map write
    private readonly FreePageSet _reusable = new();                 // dirty pages freed again (W2)
    private HashSet<int> _mapShadowed = new();                      // FreeMapWriter: bitmap pages already shadowed
    private readonly Func<long, bool> _isOwnWrite;

    private PageVerifier? _verifier;

    private TransactionPages(PageContext map, PageAllocator allocator, IFileExtender growth)
    {
        _growth = growth;
        _base = map.Base;
        _allocator = allocator;
        _pageSize = map.PageSize;
        _isOwnWrite = id => _dirty.Contains(id) || _dirtyRuns.ContainsKey(id);
    }

    /// <summary>
    /// The bookkeeping of a new write transaction. Under the writer lock: the database's previous transaction's
    /// object is reset and reused (it has ended, and an ended transaction touches its pages no more).
    /// </summary>
    /// <param name="map">The map: its base and page size (its page count is not used; the allocator's is).</param>
    /// <param name="allocator">Free space across transactions.</param>
    /// <param name="txnId">The id this transaction commits as.</param>
    /// <param name="verifyChecksums">Verify committed pages on first touch (<see cref="PageVerifier"/>).</param>
    /// <param name="growth">Extends the file when the pool is empty.</param>
    public static TransactionPages Begin(PageContext map, PageAllocator allocator, long txnId, bool verifyChecksums, IFileExtender growth)
    {
        var pages = allocator.SpareTransactionPages;
        if (pages is null || pages._growth != growth || pages._base != map.Base)
            pages = allocator.SpareTransactionPages = new TransactionPages(map, allocator, growth);
        pages.Reset(txnId, verifyChecksums);
        return pages;
    }

    private void Reset(long txnId, bool verifyChecksums)
    {
        Recycle(ref _dirty);
        Recycle(ref _freed);
        if (_takenFromPool.Capacity > ReuseLimit) _takenFromPool = new();
        else _takenFromPool.Clear();
        if (_touchedQueue.EnsureCapacity(0) > ReuseLimit) _touchedQueue = new();
        else _touchedQueue.Clear();
        if (_mapShadowed.EnsureCapacity(0) > ReuseLimit) _mapShadowed = new();
        else _mapShadowed.Clear();
        _dirtyRuns.Clear();
        _reusable.Clear();
        _mapTouched = null;
        _newBitmapIds = null;
        HasInserted = false;
        _verifier = verifyChecksums ? new PageVerifier(_isOwnWrite) : null;
        _txnId = txnId;
        _startPageCount = _pageCount = _allocator.PageCount;
    }

    private static void Recycle(ref HashSet<long> set)
    {
        if (set.EnsureCapacity(0) > ReuseLimit) set = new();
        else set.Clear();
    }

    public long TxnId => _txnId;
    public long PageCount => _pageCount;
    public int PageSize => _pageSize;
    public PageContext Context => new(_base, _pageSize, _pageCount, _verifier);
    public byte* Page(long id) => _base + id * _pageSize;
    public bool IsDirty(long id) => _dirty.Contains(id);
    public bool IsDirtyRun(long start) => _dirtyRuns.ContainsKey(start);

    /// <summary>Set by the first insert or overwrite. Until then the transaction may use the delete reserve (<see cref="IFileExtender"/>).</summary>
    public bool HasInserted { get; set; }

    /// <summary>A page this transaction may write: from its own reuse list, then the pool, then the end of the file.</summary>
    public long AllocatePage()
    {
        long id;
        if (!_reusable.TryTakeOne(out id)) id = TakeNew(1);
        _dirty.Add(id);
        _mapTouched?.Enqueue(id);
        return id;
    }

    /// <summary>A run of <paramref name="pages"/> contiguous pages, for an overflow value or the free-map directory.</summary>
    public long AllocateRun(long pages)
    {
        long start;
        if (!_reusable.TryTakeRun(pages, out start)) start = TakeNew(pages);
        _dirtyRuns[start] = pages;
        if (_mapTouched is not null) for (long i = 0; i < pages; i++) _mapTouched.Enqueue(start + i);
        return start;
    }

    /// <summary>
    /// Pages from the pool, else from the end of the file. When the file cannot grow, <see cref="IFileExtender"/> may
    /// reclaim quarantined pages into the pool instead, so the pool is tried again.
    /// </summary>
    private long TakeNew(long pages)
    {
        while (true)
        {
            if (pages == 1 ? _allocator.Pool.TryTakeOne(out long id) : _allocator.Pool.TryTakeRun(pages, out id))
            {
                for (long i = 0; i < pages; i++) _takenFromPool.Add(id + i);
                return id;
            }
            if (_growth.Ensure(_pageCount + pages, deleteOnly: !HasInserted))
            {
                id = _pageCount;
                _pageCount = id + pages;
                return id;
            }
        }
    }

    /// <summary>Frees one page. See W2.</summary>
    public void FreePage(long id)
    {
        if (_dirty.Remove(id)) _reusable.Add(id);
        else _freed.Add(id);
        _mapTouched?.Enqueue(id);
    }

    /// <summary>Frees a run that started as one allocation (an overflow value or a free-map directory).</summary>
    public void FreeRun(long start, long pages)
    {
        if (_dirtyRuns.Remove(start)) _reusable.AddRun(start, pages);
        else for (long i = 0; i < pages; i++) _freed.Add(start + i);
        if (_mapTouched is not null) for (long i = 0; i < pages; i++) _mapTouched.Enqueue(start + i);
    }

    /// <summary>Copy-on-write: a dirty copy of committed page <paramref name="id"/>; the original is freed.</summary>
    public long Shadow(long id)
    {
        long copy = AllocatePage();
        byte* dst = Page(copy);
        Buffer.MemoryCopy(Page(id), dst, _pageSize, _pageSize);
        PageHeader.SetPageId(dst, copy);
        PageHeader.SetTxnId(dst, _txnId);
        FreePage(id);
        return copy;
    }

    /// <summary>
    /// Starts the free-map write of this commit (<see cref="FreeMapWriter"/>): returns the pages whose status may
    /// differ from the committed map, and from now until <see cref="EndMapWrite"/> also queues there every page
    /// allocated or freed, because the map's own pages change the map.
    /// </summary>
    internal Queue<long> BeginMapWrite()
    {
        var touched = _mapTouched = _touchedQueue;
        touched.Clear();
        _mapShadowed.Clear();
        // Pages whose status may differ from the committed map: everything allocated or freed here, and the
        // pages past the old high-water mark (which the old map does not cover).
        foreach (long id in _takenFromPool) touched.Enqueue(id);
        foreach (long id in _freed) touched.Enqueue(id);
        foreach (long id in _reusable.Ids) touched.Enqueue(id);
        for (long id = _startPageCount; id < _pageCount; id++) touched.Enqueue(id);
        // Dirty pages freed again are free in the committed state: pool them, so the map's own pages may use them.
        foreach (long id in _reusable.Ids) _allocator.Pool.Add(id);
        _reusable.Clear();
        return touched;
    }

    /// <summary>Ends the free-map write; <paramref name="bitmaps"/> (null if it failed) go to the allocator at <see cref="Commit"/>.</summary>
    internal void EndMapWrite(List<long>? bitmaps)
    {
        _mapTouched = null;
        if (bitmaps is not null) _newBitmapIds = bitmaps;
    }

    /// <summary>The bitmap pages of the committed map, in order, before this commit rewrites any.</summary>
    internal IReadOnlyList<long> CommittedBitmaps => _allocator.BitmapIds;

    /// <summary>A copy of <see cref="CommittedBitmaps"/> for the map write to edit; a list the allocator no longer uses when there is one.</summary>
    internal List<long> BitmapsToRewrite() => _allocator.CopyOfBitmapIds();

    /// <summary>For <see cref="FreeMapWriter"/>: the indexes of the bitmap pages this commit has shadowed. Empty at <see cref="BeginMapWrite"/>.</summary>
    internal HashSet<int> MapShadowed => _mapShadowed;

    private List<long>? _newBitmapIds;

    /// <summary>Free in the committed state: reusable now, or freed by this commit (pending until R1 and R2 allow).</summary>
    internal bool IsFreeAtCommit(long id) => _allocator.Pool.Contains(id) || _reusable.Contains(id) || _freed.Contains(id);

    // The concrete collections, read-only by contract: a foreach over them uses their struct enumerators, so sealing
    // a commit allocates no enumerator.
    /// <summary>Every single page this transaction wrote (allocated and not freed again). Read only.</summary>
    internal HashSet<long> DirtyPages => _dirty;

    /// <summary>Every run this transaction wrote, as first page and length. Read only.</summary>
    internal Dictionary<long, long> DirtyRuns => _dirtyRuns;

    /// <summary>How many single pages and runs this transaction wrote.</summary>
    internal int DirtyCount => _dirty.Count + _dirtyRuns.Count;

    /// <summary>Hands the outcome to the allocator: the new high-water mark, the pages this commit wrote, and the ones it freed (pending under R2, or young under R2b).</summary>
    public void Commit()
    {
        foreach (long id in _reusable.Ids) _allocator.Pool.Add(id);
        _allocator.PageCount = _pageCount;
        _allocator.AddCommit(_txnId, WrittenPages(), _freed);
        if (_newBitmapIds is not null) _allocator.CommitBitmaps(_newBitmapIds);
    }

    /// <summary>Every page this transaction wrote (its single pages and every page of its runs).</summary>
    private long[] WrittenPages()
    {
        long n = _dirty.Count;
        foreach (var (_, pages) in _dirtyRuns) n += pages;
        var all = new long[n];
        int i = 0;
        foreach (long id in _dirty) all[i++] = id;
        foreach (var (start, pages) in _dirtyRuns)
            for (long p = 0; p < pages; p++) all[i++] = start + p;
        return all;
    }

    /// <summary>Undoes every allocation: pool pages go back, pages past the old high-water mark are forgotten.</summary>
    public void Abort()
    {
        foreach (long id in _takenFromPool) _allocator.Pool.Add(id);
        _allocator.Pool.RemoveFrom(_startPageCount);
    }
}
