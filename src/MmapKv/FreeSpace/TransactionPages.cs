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
/// Invariant W6 (savepoints): while a savepoint exists, the pages this transaction allocated before the newest one
/// are frozen: still its own (sealed and written at commit) but no longer editable in place, so <see cref="IsDirty"/>
/// and <see cref="IsDirtyRun"/> answer false for them and the tree writer copies them again (W1 with the savepoint in
/// the role of a committed state). A frozen page freed is held, not reused, until a rollback makes it live again or
/// the savepoints are released. With no savepoint, none of this costs more than a null check.
/// Invariant K1 (persistent savepoints, docs/format.md §13.2): a committed tree page (branch, leaf or overflow run)
/// written by a commit no newer than the newest persistent savepoint belongs to that savepoint's state; freed, it is
/// retained: neither freed in the map nor reusable, until deleting the savepoints that reach it releases it
/// (<see cref="ReleaseRetained"/>). With no persistent savepoint this is one comparison per freed committed page.
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
    private long _retainUpTo; // K1: the newest persistent savepoint's id, 0 for none
    private long _startPageCount;
    private long _pageCount;
    private long _prefaultedTo; // W8: tail pages below this need no prefault (asked for, or the first few, left to fault)

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
    private List<long> _mapIds = new();                             // FreeMapWriter: the queued pages, sorted
    private List<long> _oldDelta = new();                           // FreeMapWriter: the committed map's delta
    private List<long> _newDelta = new();                           // FreeMapWriter: the delta being written
    private readonly Func<long, bool> _isOwnWrite;

    // Savepoints (W6), innermost last; empty unless the transaction made one. _frozen is the newest one's, or null.
    private readonly List<SavepointMark> _marks = new();
    private SavepointMark? _frozen;
    private readonly List<long> _freedLog = new();                            // committed pages freed while a savepoint exists, in order
    private readonly List<(long Start, long Pages, bool IsRun)> _held = new(); // frozen pages freed, in order: kept intact for a rollback

    private PageVerifier? _verifier; // kept, like the sets, and reset per transaction (it remembers what it verified)

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
    /// <param name="retainUpTo">The newest persistent savepoint of the base state, 0 for none (K1).</param>
    public static TransactionPages Begin(PageContext map, PageAllocator allocator, long txnId, bool verifyChecksums, IFileExtender growth,
        long retainUpTo = 0)
    {
        var pages = allocator.SpareTransactionPages;
        if (pages is null || pages._growth != growth || pages._base != map.Base)
            pages = allocator.SpareTransactionPages = new TransactionPages(map, allocator, growth);
        pages.Reset(txnId, verifyChecksums);
        pages._retainUpTo = retainUpTo;
        return pages;
    }

    /// <summary>
    /// The newest persistent savepoint from now on (K1): set when this transaction makes, deletes or restores one.
    /// A restore lowers it before it frees the pages written after the restored savepoint, so those are freed.
    /// </summary>
    internal long RetainUpTo
    {
        get => _retainUpTo;
        set => _retainUpTo = value;
    }

    /// <summary>Whether committed page (or run start) <paramref name="id"/> is retained when freed (K1): a tree page
    /// whose writer is no newer than the newest persistent savepoint. The map's and the table's own pages never are.</summary>
    private bool IsRetained(long id)
    {
        byte* p = Page(id);
        return PageHeader.TxnId(p) <= _retainUpTo
               && PageHeader.Kind(p) is PageKind.Branch or PageKind.Leaf or PageKind.Overflow;
    }

    /// <summary>
    /// Frees a committed page or run that only deleted persistent savepoints reached (docs/format.md §13.3): it
    /// becomes free in this commit's map, and reusable under R1 and R2 like any page this commit frees.
    /// </summary>
    internal void ReleaseRetained(long start, long pages)
    {
        for (long i = 0; i < pages; i++) _freed.Add(start + i);
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
        if (_mapIds.Capacity > ReuseLimit) _mapIds = new(); // the deltas hold at most a directory's worth: kept
        _dirtyRuns.Clear();
        _reusable.Clear();
        DropSavepoints();
        _mapTouched = null;
        _newBitmapIds = null;
        HasInserted = false;
        if (verifyChecksums) (_verifier ??= new PageVerifier(_isOwnWrite)).Reset(ReuseLimit);
        else _verifier = null;
        _txnId = txnId;
        _startPageCount = _pageCount = _prefaultedTo = _allocator.PageCount;
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
    /// <summary>Whether <paramref name="id"/> is a single page this transaction may edit in place: allocated here, and not frozen by a savepoint (W6).</summary>
    public bool IsDirty(long id) => _dirty.Contains(id) && (_frozen is null || !_frozen.Dirty.Contains(id));

    /// <summary>Whether a run this transaction may edit in place starts at <paramref name="start"/> (W6, as <see cref="IsDirty"/>).</summary>
    public bool IsDirtyRun(long start) => _dirtyRuns.ContainsKey(start) && (_frozen is null || !_frozen.Runs.ContainsKey(start));

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
    /// <remarks>
    /// W7 (the delete reserve, docs/durability.md §5.1): a transaction that has inserted takes a page only if the
    /// pages left for a later delete (the file past the high-water mark, the pool, the quarantine, the pages it has
    /// freed itself) still cover the reserve; else the file must grow first, as it must for a page past the high-water
    /// mark. Checking only growth let inserts take the pool's last pages once the file could grow no more (at
    /// <c>MaxSize</c>, or on a full disk) after deletes had used the tail: the next delete then found no page at all.
    /// </remarks>
    private long TakeNew(long pages)
    {
        while (true)
        {
            if (HasInserted && !_growth.Ensure(_pageCount + pages - LeftForDeletes, deleteOnly: false)) continue;
            if (pages == 1 ? _allocator.Pool.TryTakeOne(out long id) : _allocator.Pool.TryTakeRun(pages, out id))
            {
                for (long i = 0; i < pages; i++) _takenFromPool.Add(id + i);
                return id;
            }
            if (_growth.Ensure(_pageCount + pages, deleteOnly: !HasInserted))
            {
                id = _pageCount;
                _pageCount = id + pages;
                if (_pageCount > _prefaultedTo - PrefaultWindow / 2) PrefaultTail(id);
                return id;
            }
        }
    }

    /// <summary>Tail pages a transaction takes before it prefaults (W8): below this, faults stay one by one.</summary>
    internal const long PrefaultAfter = 64;

    /// <summary>The most pages past those taken that the prefault reaches ahead (W8): 1 MiB of 4 KiB pages.</summary>
    internal const long PrefaultAhead = 256;

    /// <summary>
    /// W8 (docs/durability.md §5.1): a transaction that has taken many pages from the end of the file, as a load or
    /// an append does, will take more; have them faulted in ahead of its stores, on the storage's prefault thread,
    /// instead of a page fault for each page as the tree writer first stores into it. The window ahead is a quarter
    /// of the tail pages taken so far, at most <see cref="PrefaultAhead"/>, and the next window is asked for when
    /// half of this one is left, so the prefault keeps ahead of the stores while the pages faulted in but never used
    /// (they stay past the high-water mark, and the next flush writes them back unchanged) are at most a quarter of
    /// those used, and at most 1 MiB per transaction. A small transaction, which takes a page or two, never
    /// prefaults.
    /// </summary>
    private void PrefaultTail(long id)
    {
        if (_pageCount - _startPageCount < PrefaultAfter) return;
        long from = Math.Max(id, _prefaultedTo), to = _pageCount + PrefaultWindow;
        if (to <= from) return;
        _prefaultedTo = _growth.Prefault(from, to - from); // at least _pageCount: the file covers the pages taken
    }

    /// <summary>How far past the pages taken the prefault reaches (W8): a quarter of the tail pages taken, at most <see cref="PrefaultAhead"/>.</summary>
    private long PrefaultWindow => Math.Min(PrefaultAhead, (_pageCount - _startPageCount) / 4);

    /// <summary>
    /// Ends the transaction's prefault (W8): returns once nothing is faulted in on its behalf. Called before the
    /// commit is published, since from then on the pages it took belong to a committed state, and at an abort.
    /// </summary>
    internal void EndPrefault()
    {
        if (_prefaultedTo > _startPageCount) _growth.EndPrefault();
    }

    /// <summary>
    /// Free pages below the high-water mark that a delete after this transaction could use: the pool, the quarantine,
    /// this transaction's reusable pages, and the committed pages it freed (quarantined at its commit). So shadowing
    /// a page costs nothing here; only pages the transaction adds to the tree count.
    /// </summary>
    private long LeftForDeletes => _allocator.Pool.Count + _allocator.PendingCount + _reusable.Count + _freed.Count;

    /// <summary>Frees one page. See W2; a page frozen by a savepoint is held instead (W6).</summary>
    public void FreePage(long id)
    {
        if (_dirty.Remove(id))
        {
            if (_frozen is not null && _frozen.Dirty.Contains(id)) _held.Add((id, 1, false));
            else _reusable.Add(id);
        }
        else if (_retainUpTo != 0 && IsRetained(id)) return; // K1: stays as it is, for the savepoint
        else if (_freed.Add(id) && _frozen is not null) _freedLog.Add(id);
        _mapTouched?.Enqueue(id);
    }

    /// <summary>Frees a run that started as one allocation (an overflow value or a free-map directory).</summary>
    public void FreeRun(long start, long pages)
    {
        if (_dirtyRuns.Remove(start))
        {
            if (_frozen is not null && _frozen.Runs.ContainsKey(start)) _held.Add((start, pages, true));
            else _reusable.AddRun(start, pages);
        }
        else if (_retainUpTo != 0 && IsRetained(start)) return; // K1
        else
            for (long i = 0; i < pages; i++)
                if (_freed.Add(start + i) && _frozen is not null) _freedLog.Add(start + i);
        if (_mapTouched is not null) for (long i = 0; i < pages; i++) _mapTouched.Enqueue(start + i);
    }

    /// <summary>How many savepoints exist (the innermost is number <c>SavepointCount - 1</c>).</summary>
    internal int SavepointCount => _marks.Count;

    /// <summary>
    /// A savepoint (W6): freezes every page this transaction allocated so far, so that from now on a write copies it
    /// instead of editing it, and records what <see cref="RollbackTo"/> needs to undo what follows. Costs a copy of
    /// the dirty sets.
    /// </summary>
    internal void CreateSavepoint()
    {
        var mark = new SavepointMark(new HashSet<long>(_dirty), new Dictionary<long, long>(_dirtyRuns), _freedLog.Count, _held.Count);
        _marks.Add(mark);
        _frozen = mark;
    }

    /// <summary>
    /// Restores the page bookkeeping of savepoint <paramref name="index"/>, which stays (the ones after it are
    /// dropped): its dirty sets come back, with the pages it froze and that were freed since (held, intact); every
    /// page allocated since goes to this transaction's reuse list; the committed pages freed since are no longer
    /// freed.
    /// </summary>
    internal void RollbackTo(int index)
    {
        var mark = _marks[index];
        // Allocated after the savepoint and live now: free again, and never seen by a committed state.
        foreach (long id in _dirty) if (!mark.Dirty.Contains(id)) _reusable.Add(id);
        foreach (var (start, pages) in _dirtyRuns) if (!mark.Runs.ContainsKey(start)) _reusable.AddRun(start, pages);
        // Frozen pages freed after the savepoint: the savepoint's own come back below; those of a later savepoint
        // were allocated after this one, so they are free. Those held before it stay held for the older savepoints.
        for (int i = mark.HeldCount; i < _held.Count; i++)
        {
            var (start, pages, isRun) = _held[i];
            if (!(isRun ? mark.Runs.ContainsKey(start) : mark.Dirty.Contains(start))) _reusable.AddRun(start, pages);
        }
        _held.RemoveRange(mark.HeldCount, _held.Count - mark.HeldCount);
        _dirty.Clear();
        _dirty.UnionWith(mark.Dirty);
        _dirtyRuns.Clear();
        foreach (var (start, pages) in mark.Runs) _dirtyRuns.Add(start, pages);
        // Committed pages freed after the savepoint are referenced by its state again.
        for (int i = mark.FreedCount; i < _freedLog.Count; i++) _freed.Remove(_freedLog[i]);
        _freedLog.RemoveRange(mark.FreedCount, _freedLog.Count - mark.FreedCount);
        _marks.RemoveRange(index + 1, _marks.Count - index - 1);
        _frozen = mark;
    }

    /// <summary>
    /// Forgets every savepoint (before a commit): the pages are all editable again, and the frozen pages freed since
    /// a savepoint, which no state reaches any more, go to the reuse list (W2).
    /// </summary>
    internal void ReleaseSavepoints()
    {
        if (_frozen is null) return;
        foreach (var (start, pages, _) in _held) _reusable.AddRun(start, pages);
        DropSavepoints();
    }

    private void DropSavepoints()
    {
        _held.Clear();
        _freedLog.Clear();
        _marks.Clear();
        _frozen = null;
    }

    /// <summary>What a savepoint recorded of the page bookkeeping: the dirty sets then, and the lengths of the logs.</summary>
    private sealed record SavepointMark(HashSet<long> Dirty, Dictionary<long, long> Runs, int FreedCount, int HeldCount);

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
        System.Diagnostics.Debug.Assert(_frozen is null, "savepoints are released before the commit writes anything");
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

    /// <summary>The most delta entries this commit's map may keep before it folds (docs/format.md §7.5).</summary>
    internal int DeltaCapacity => Math.Min(_allocator.DeltaCapacity ?? int.MaxValue, FreeMap.MaxDeltaEntries(_pageSize));

    /// <summary>For <see cref="FreeMapWriter"/>: scratch lists for the queued pages, the committed delta and the new one.</summary>
    internal (List<long> Ids, List<long> OldDelta, List<long> NewDelta) MapScratch
    {
        get
        {
            _mapIds.Clear();
            _oldDelta.Clear();
            _newDelta.Clear();
            return (_mapIds, _oldDelta, _newDelta);
        }
    }

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
        _allocator.AddCommit(_txnId, _dirty, _dirtyRuns, _freed);
        if (_newBitmapIds is not null) _allocator.CommitBitmaps(_newBitmapIds);
    }

    /// <summary>Undoes every allocation: pool pages go back, pages past the old high-water mark are forgotten.</summary>
    public void Abort()
    {
        EndPrefault();
        DropSavepoints(); // their copies of the dirty sets are not kept until the next transaction
        foreach (long id in _takenFromPool) _allocator.Pool.Add(id);
        _allocator.Pool.RemoveFrom(_startPageCount);
    }
}
