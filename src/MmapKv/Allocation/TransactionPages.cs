using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Storage;

namespace MmapKv.Allocation;

/// <summary>
/// The page bookkeeping of one write transaction: what it allocated (its dirty pages, the only ones it may modify
/// in place), what it freed, and how to undo both on abort.
/// </summary>
/// <remarks>
/// Invariant W1 (copy-on-write): a page is written only if it is dirty, that is, allocated by this transaction.
/// Everything reachable from a committed snapshot is therefore never modified in place.
/// Invariant W2: a dirty page freed again is invisible to every snapshot and returns to this transaction's own
/// reuse list at once; a committed page freed goes to <see cref="_freed"/> and becomes reusable only under the
/// rules of <see cref="PageAllocator"/>.
/// </remarks>
internal sealed unsafe class TransactionPages
{
    private readonly IStorage _storage;
    private readonly PageAllocator _allocator;
    private readonly int _pageSize;
    private readonly long _txnId;
    private readonly long _startPageCount;
    private long _pageCount;

    private readonly HashSet<long> _dirty = new();                  // single pages allocated here
    private readonly Dictionary<long, long> _dirtyRuns = new();     // runs allocated here: first page -> length
    private readonly List<long> _takenFromPool = new();             // undo list for abort
    private readonly HashSet<long> _freed = new();                  // committed pages freed here
    private Queue<long>? _mapTouched;                               // while writing the free map: pages whose bit may change
    private readonly FreePageSet _reusable = new();                 // dirty pages freed again (W2)

    private readonly PageVerifier? _verifier;

    private readonly FileGrowth _growth; // extends the file (through the commit pipeline), or reclaims, or refuses

    public TransactionPages(IStorage storage, PageAllocator allocator, int pageSize, long txnId, bool verifyChecksums, FileGrowth growth)
    {
        _growth = growth;
        if (verifyChecksums) _verifier = new PageVerifier(id => _dirty.Contains(id) || _dirtyRuns.ContainsKey(id));
        _storage = storage;
        _allocator = allocator;
        _pageSize = pageSize;
        _txnId = txnId;
        _startPageCount = _pageCount = allocator.PageCount;
    }

    public long TxnId => _txnId;
    public long PageCount => _pageCount;
    public int PageSize => _pageSize;
    public PageContext Context => new(_storage.Base, _pageSize, _pageCount, _verifier);
    public byte* Page(long id) => _storage.Base + id * _pageSize;
    public bool IsDirty(long id) => _dirty.Contains(id);
    public bool IsDirtyRun(long start) => _dirtyRuns.ContainsKey(start);

    /// <summary>Set by the first insert or overwrite. Until then the transaction may use the delete reserve (<see cref="FileGrowth"/>).</summary>
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
    /// Pages from the pool, else from the end of the file. When the file cannot grow, <see cref="FileGrowth"/> may
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
    /// Writes the free map of the state this transaction commits (docs/format.md §7) and returns its directory run.
    /// Only bitmap pages covering a page whose status changed are rewritten (copy-on-write). Rewriting a bitmap
    /// page allocates and frees pages, whose bits may live in yet another bitmap page, so this runs to a fixpoint;
    /// each bitmap page is shadowed at most once, so it ends within one pass per bitmap page.
    /// </summary>
    public (long First, long Pages) WriteFreeMap(long oldDirectory, long oldDirectoryPages)
    {
        var touched = _mapTouched = new Queue<long>();
        try
        {
            // Pages whose status may differ from the committed map: everything allocated or freed here, and the
            // pages past the old high-water mark (which the old map does not cover).
            foreach (long id in _takenFromPool) touched.Enqueue(id);
            foreach (long id in _freed) touched.Enqueue(id);
            foreach (long id in _reusable.Ids) touched.Enqueue(id);
            for (long id = _startPageCount; id < _pageCount; id++) touched.Enqueue(id);
            // Dirty pages freed again are free in the committed state: pool them, so the map's own pages may use them.
            foreach (long id in _reusable.Ids) _allocator.Pool.Add(id);
            _reusable.Clear();
            if (oldDirectory != 0) FreeRun(oldDirectory, oldDirectoryPages);

            var bitmaps = new List<long>(_allocator.BitmapIds);
            var shadowed = new HashSet<int>();
            long bitsPer = FreeMap.BitsPerPage(_pageSize);
            // Room for the bitmaps the file may need once this commit's own allocations are counted.
            long directoryPages = FreeMap.DirectoryPagesFor(_pageSize, FreeMap.BitmapsFor(_pageSize, _pageCount) + 4);
            long directory = AllocateRun(directoryPages);
            while (true)
            {
                while (touched.Count > 0)
                {
                    long id = touched.Dequeue();
                    int index = (int)(id / bitsPer);
                    while (bitmaps.Count <= index)
                    {
                        long fresh = AllocatePage();
                        FreeMap.InitBitmap(Page(fresh), fresh, _txnId, _pageSize);
                        shadowed.Add(bitmaps.Count);
                        bitmaps.Add(fresh);
                    }
                    if (shadowed.Add(index)) bitmaps[index] = Shadow(bitmaps[index]);
                    FreeMap.SetBit(Page(bitmaps[index]), id % bitsPer, IsFreeAtCommit(id));
                }
                if (FreeMap.DirectoryPagesFor(_pageSize, bitmaps.Count) <= directoryPages) break;
                FreeRun(directory, directoryPages); // outgrown (a huge commit): take a bigger run and settle again
                directoryPages = FreeMap.DirectoryPagesFor(_pageSize, bitmaps.Count + 4);
                directory = AllocateRun(directoryPages);
            }
            FreeMap.WriteDirectory(Page(directory), directory, _txnId, directoryPages, bitmaps, _pageSize);
            _newBitmapIds = bitmaps;
            return (directory, directoryPages);
        }
        finally
        {
            _mapTouched = null;
        }
    }

    private List<long>? _newBitmapIds;

    /// <summary>Free in the committed state: reusable now, or freed by this commit (pending until R1 and R2 allow).</summary>
    private bool IsFreeAtCommit(long id) => _allocator.Pool.Contains(id) || _reusable.Contains(id) || _freed.Contains(id);

    /// <summary>
    /// Stamps the checksum on every page and run this transaction wrote, and returns them as sorted, coalesced
    /// page ranges for msync.
    /// </summary>
    public List<(long First, long Pages)> SealDirtyPages()
    {
        var ranges = new List<(long, long)>(_dirty.Count + _dirtyRuns.Count);
        foreach (long id in _dirty)
        {
            byte* p = Page(id);
            PageHeader.SetChecksum(p, Checksum.OfPage(p, _pageSize));
            ranges.Add((id, 1));
        }
        foreach (var (start, pages) in _dirtyRuns)
        {
            byte* p = Page(start);
            PageHeader.SetChecksum(p, Checksum.OfPage(p, pages * _pageSize));
            ranges.Add((start, pages));
        }
        ranges.Sort();
        int w = 0;
        for (int r = 1; r < ranges.Count; r++)
        {
            var (s, l) = ranges[w];
            if (ranges[r].Item1 == s + l) ranges[w] = (s, l + ranges[r].Item2);
            else ranges[++w] = ranges[r];
        }
        if (ranges.Count > 0) ranges.RemoveRange(w + 1, ranges.Count - w - 1);
        return ranges;
    }

    /// <summary>Hands the outcome to the allocator: the new high-water mark, and this commit's freed pages as pending.</summary>
    public void Commit()
    {
        foreach (long id in _reusable.Ids) _allocator.Pool.Add(id);
        _allocator.PageCount = _pageCount;
        _allocator.AddCommit(_txnId, WrittenPages(), _freed);
        if (_newBitmapIds is not null) _allocator.BitmapIds = _newBitmapIds;
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
