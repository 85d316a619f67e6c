using MmapKv.BTree;
using MmapKv.Format;
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
    private readonly List<long> _freed = new();                     // committed pages freed here
    private readonly FreePageSet _reusable = new();                 // dirty pages freed again (W2)

    private readonly PageVerifier? _verifier;

    public TransactionPages(IStorage storage, PageAllocator allocator, int pageSize, long txnId, bool verifyChecksums)
    {
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
    public int DirtyPageCount => _dirty.Count + _dirtyRuns.Count;

    /// <summary>A page this transaction may write: from its own reuse list, then the pool, then the end of the file.</summary>
    public long AllocatePage()
    {
        long id;
        if (!_reusable.TryTakeOne(out id))
        {
            if (_allocator.Pool.TryTakeOne(out id)) _takenFromPool.Add(id);
            else id = Extend(1);
        }
        _dirty.Add(id);
        return id;
    }

    /// <summary>A run of <paramref name="pages"/> contiguous pages, for an overflow value or the free list.</summary>
    public long AllocateRun(long pages)
    {
        long start;
        if (_reusable.TryTakeRun(pages, out start)) { }
        else if (_allocator.Pool.TryTakeRun(pages, out start))
            for (long i = 0; i < pages; i++) _takenFromPool.Add(start + i);
        else start = Extend(pages);
        _dirtyRuns[start] = pages;
        return start;
    }

    private long Extend(long pages)
    {
        long id = _pageCount;
        long needed = (id + pages) * _pageSize;
        if (needed > _storage.Length) _storage.Grow(GrowthTarget(needed));
        _pageCount = id + pages;
        return id;
    }

    /// <summary>Geometric growth (a quarter of the file, 1 MiB to 256 MiB per step), never past the capacity.</summary>
    private long GrowthTarget(long needed)
    {
        long length = _storage.Length;
        long step = Math.Clamp(length / 4, 1L << 20, 256L << 20);
        long target = Math.Max(needed, length + step);
        target = (target + _pageSize - 1) / _pageSize * _pageSize;
        return Math.Min(target, Math.Max(needed, _storage.Capacity / _pageSize * _pageSize));
    }

    /// <summary>Frees one page. See W2.</summary>
    public void FreePage(long id)
    {
        if (_dirty.Remove(id)) _reusable.Add(id);
        else _freed.Add(id);
    }

    /// <summary>Frees a run that started as one allocation (an overflow value or a free list).</summary>
    public void FreeRun(long start, long pages)
    {
        if (_dirtyRuns.Remove(start)) _reusable.AddRun(start, pages);
        else for (long i = 0; i < pages; i++) _freed.Add(start + i);
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
    /// Writes the free list for the state this transaction commits (docs/format.md §7) and returns its run.
    /// Listed: the pool, every pending group, this transaction's freed pages and its unused reuse list.
    /// </summary>
    public (long First, long Pages) WriteFreeList(long oldFirst, long oldPages)
    {
        if (oldFirst != 0) FreeRun(oldFirst, oldPages);
        // Dirty pages freed again are free in the committed state; hand them to the pool first, so the allocation
        // below may use them, and they are listed if not.
        foreach (long id in _reusable.Ids) _allocator.Pool.Add(id);
        _reusable.Clear();

        var all = new List<long>(_allocator.Pool.Count + _freed.Count + (int)_allocator.PendingCount);
        all.AddRange(_allocator.Pool.Ids);
        all.AddRange(_allocator.PendingIds());
        all.AddRange(_freed);
        all.Sort();
        var runs = FreeListCodec.ToRuns(all);
        if (runs.Count == 0) return (0, 0);

        // The run for the list comes from the start of a pool run, which can split at most one of the merged runs
        // above (pending pages may sit right before it): one spare run of room covers that.
        long pages = FreeListCodec.PagesFor(_pageSize, runs.Count + 1);
        long first = AllocateRun(pages);
        all.RemoveAll(id => id >= first && id < first + pages);
        runs = FreeListCodec.ToRuns(all);
        FreeListCodec.Write(Page(first), first, _txnId, pages, runs);
        return (first, pages);
    }

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
        _allocator.AddPending(_txnId, _freed.ToArray());
    }

    /// <summary>Undoes every allocation: pool pages go back, pages past the old high-water mark are forgotten.</summary>
    public void Abort()
    {
        foreach (long id in _takenFromPool) _allocator.Pool.Add(id);
        _allocator.Pool.RemoveFrom(_startPageCount);
    }
}
