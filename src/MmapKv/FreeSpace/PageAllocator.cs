using MmapKv.Pages;

namespace MmapKv.FreeSpace;

/// <summary>
/// Free space across transactions. Touched only by the writer, under the writer lock.
/// </summary>
/// <remarks>
/// A page freed by the commit of transaction F was reachable in snapshot F-1 and is not in snapshot F.
/// Reuse rule (docs/format.md §7): it may be written again only when
/// <list type="bullet">
/// <item>R1: no open reader has a snapshot older than F (so none can reach it), and</item>
/// <item>R2 (quarantine): no meta that a crash could recover references it. That holds when F is at most the last
/// durable transaction (the durable meta no longer references it), or (R2b) when the commit W that wrote the page
/// is newer than every meta a flush has taken so far: the page then lived only in states W..F-1, none of which is
/// durable or being made durable, and any later flush writes a meta at least as new as F.</item>
/// </list>
/// R2b is what keeps Deferred mode from ballooning: most pages a burst of deferred commits writes are freed again
/// by later commits of the same burst, and are reusable as soon as no reader sees them, without waiting for a flush.
/// Pages in <see cref="Pool"/> satisfy both rules; <see cref="_pending"/> (rule R2) and <see cref="_young"/> (rule
/// R2b) hold the rest, each in commit order.
/// </remarks>
internal sealed class PageAllocator
{
    // Groups of freed pages in commit order: pending under R2 (keys: freed by, unused) and young under R2b (keys:
    // freed by, written by). Queues of ids rather than an array per group, so a commit allocates nothing here.
    private readonly PageGroupQueue _pending = new();
    private readonly PageGroupQueue _young = new();

    // Pages written by commits newer than the newest meta a flush has taken, with the commit that wrote them (R2b).
    // A page missing here was written by a commit some flush has covered, so its free falls under R2.
    private readonly Dictionary<long, long> _writtenBy = new();
    private readonly PageGroupQueue _writes = new(); // the same pages in commit order (keys: txn, unused), for pruning

    // AddCommit's scratch: the young pages a commit frees, with their writers, grouped by sorting.
    private readonly List<(long WrittenBy, long Id)> _youngFreed = new();

    /// <summary>Pages that may be written now.</summary>
    public FreePageSet Pool { get; } = new();

    /// <summary>Committed high-water mark: pages [0, PageCount) are in use, free, or the free map.</summary>
    public long PageCount { get; set; }

    /// <summary>Pages freed by commits that some reader or the quarantine still protects.</summary>
    public long PendingCount { get => Volatile.Read(ref _pendingCount); private set => Volatile.Write(ref _pendingCount, value); }
    private long _pendingCount;

    /// <summary>The most delta entries a commit keeps before it folds (null: the format's limit, FreeMap.MaxDeltaEntries).</summary>
    public int? DeltaCapacity { get; set; }

    /// <summary>The committed free map's bitmap pages, in order (docs/format.md §7).</summary>
    public IReadOnlyList<long> BitmapIds => _bitmapIds;
    private List<long> _bitmapIds = null!; // set by Load

    /// <summary>A commit rewrote the map: its bitmap pages, in order, replace the committed list.</summary>
    public void CommitBitmaps(List<long> bitmapIds)
    {
        _spareBitmapIds = _bitmapIds;
        _bitmapIds = bitmapIds;
    }

    // The list the last commit replaced, which no one reads any more: the next map write copies into it instead of
    // allocating a list per commit. Taken (set to null) while in use, so an aborted map write cannot share it.
    private List<long>? _spareBitmapIds;

    /// <summary>A new list holding <see cref="BitmapIds"/>, for a map write to edit and then commit.</summary>
    public List<long> CopyOfBitmapIds()
    {
        var copy = _spareBitmapIds ?? new List<long>(_bitmapIds.Count);
        _spareBitmapIds = null;
        copy.Clear();
        copy.AddRange(_bitmapIds);
        return copy;
    }

    /// <summary>
    /// The previous write transaction's page bookkeeping, which the next one resets and reuses (under the writer
    /// lock), so that a transaction allocates no sets of its own. See TransactionPages.Begin.
    /// </summary>
    internal TransactionPages? SpareTransactionPages;

    /// <summary>
    /// An allocator with no free space yet, for a process that joined a database other processes have open: its
    /// first write transaction loads it (<see cref="Reset"/>), under the writer lock.
    /// </summary>
    public PageAllocator() => _bitmapIds = new List<long>();

    /// <summary>Loads the free map of the opened snapshot.</summary>
    public PageAllocator(PageContext ctx, long directoryFirst, long directoryPages)
    {
        Load(ctx, directoryFirst, directoryPages);
    }

    /// <summary>
    /// A writer taking over from another process (docs/durability.md §14.3): forgets everything it knew and loads
    /// the free map of the newest commit, <paramref name="ctx"/>. The caller makes that commit durable first, so R2
    /// holds for all of it, and then keeps out of the pool every page a reader's snapshot can still reach
    /// (<see cref="KeepFromPool"/>).
    /// </summary>
    public void Reset(PageContext ctx, long directoryFirst, long directoryPages)
    {
        Pool.Clear();
        while (_pending.Count > 0) Drop(_pending);
        while (_young.Count > 0) Drop(_young);
        while (_writes.Count > 0) Drop(_writes);
        _writtenBy.Clear();
        PendingCount = 0;
        _spareBitmapIds = null;
        Load(ctx, directoryFirst, directoryPages);
    }

    private static void Drop(PageGroupQueue queue)
    {
        var (_, _, count) = queue.Dequeue();
        for (int i = 0; i < count; i++) queue.Pop();
    }

    /// <summary>
    /// Moves out of the pool every page that <paramref name="reachable"/> says a reader's snapshot may still reach,
    /// into a pending group of commit <paramref name="freedBy"/>: released, like any pending page, once no reader
    /// sees a state older than it (R1). Returns how many it moved.
    /// </summary>
    public int KeepFromPool(Func<long, bool> reachable, long freedBy)
    {
        var held = new List<long>();
        foreach (long id in Pool.Ids)
            if (reachable(id)) held.Add(id);
        foreach (long id in held)
        {
            Pool.TryRemove(id);
            _pending.Push(id);
        }
        _pending.EndGroup(freedBy, 0);
        PendingCount += held.Count;
        return held.Count;
    }

    private void Load(PageContext ctx, long directoryFirst, long directoryPages)
    {
        PageCount = ctx.PageCount;
        var directory = FreeMap.ReadDirectory(ctx, directoryFirst, directoryPages);
        long[] ids = directory.Bitmaps;
        _bitmapIds = ids.ToList();
        _spareBitmapIds = null;
        // Opening makes the opened meta durable (see KvDatabase.Open), so everything it marks free is free under R1 and R2.
        FreeMap.ReadFree(ctx, directory, Pool.AddRun);
        // The map must not call its own pages free, or the first allocation would overwrite it.
        foreach (long id in ids)
            if (Pool.Contains(id)) Corrupt.Throw(id, "a free-map bitmap page is marked free");
        for (long id = directoryFirst; id < directoryFirst + directoryPages; id++)
            if (Pool.Contains(id)) Corrupt.Throw(id, "a free-map directory page is marked free");
    }

    /// <summary>
    /// Records a commit: the pages it wrote (<paramref name="written"/> single pages and <paramref name="writtenRuns"/>
    /// runs, for R2b) and the committed pages it <paramref name="freed"/>, each kept until <see cref="Release"/> finds
    /// it reusable. Reads the collections only; allocates nothing once its queues have grown to the workload.
    /// </summary>
    public void AddCommit(long txnId, HashSet<long> written, Dictionary<long, long> writtenRuns, HashSet<long> freed)
    {
        var young = _youngFreed;
        young.Clear();
        int old = 0;
        foreach (long id in freed)
        {
            if (_writtenBy.Remove(id, out long w)) young.Add((w, id));
            else
            {
                _pending.Push(id);
                old++;
            }
        }
        _pending.EndGroup(txnId, 0);
        if (young.Count > 0)
        {
            // One group per writer; the order of groups and of ids within one does not matter (they are released
            // together, into a set or the pending queue).
            var byWriter = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(young);
            byWriter.Sort();
            long writer = byWriter[0].WrittenBy;
            foreach (var (w, id) in byWriter)
            {
                if (w != writer)
                {
                    _young.EndGroup(txnId, writer);
                    writer = w;
                }
                _young.Push(id);
            }
            _young.EndGroup(txnId, writer);
        }
        PendingCount += old + young.Count;
        young.Clear();
        foreach (long id in written)
        {
            _writtenBy[id] = txnId;
            _writes.Push(id);
        }
        foreach (var (start, pages) in writtenRuns)
        {
            for (long id = start; id < start + pages; id++)
            {
                _writtenBy[id] = txnId;
                _writes.Push(id);
            }
        }
        _writes.EndGroup(txnId, 0);
    }

    /// <summary>
    /// Moves to the pool every freed page that R1 and R2 (or R2b) allow. <paramref name="oldestReader"/> is the
    /// oldest snapshot any reader holds, <paramref name="durable"/> the durable transaction, and
    /// <paramref name="flushed"/> the newest meta a flush has taken (durable or being made durable).
    /// </summary>
    public void Release(long oldestReader, long durable, long flushed)
    {
        // Writes a flush has covered can no longer use R2b: forget them, so their frees fall under R2.
        while (_writes.Count > 0 && _writes.Peek().A <= flushed)
        {
            var (txn, _, count) = _writes.Dequeue();
            for (int i = 0; i < count; i++)
            {
                long id = _writes.Pop();
                if (_writtenBy.TryGetValue(id, out long w) && w == txn) _writtenBy.Remove(id);
            }
        }
        long horizon = Math.Min(oldestReader, durable);
        while (_pending.Count > 0 && _pending.Peek().A <= horizon)
            ToPool(_pending, _pending.Dequeue().Count);
        // R2b. A group whose writer a flush covered before the group could be released falls back to R2: it moves
        // to the pending queue rather than wait at the head here, where it would hold back every younger group
        // behind it until the next flush (the pending queue then releases it no earlier than F allows: safe).
        while (_young.Count > 0 && _young.Peek().A <= oldestReader)
        {
            var (freedBy, writtenBy, count) = _young.Dequeue();
            if (writtenBy > flushed || freedBy <= durable) ToPool(_young, count);
            else
            {
                for (int i = 0; i < count; i++) _pending.Push(_young.Pop());
                _pending.EndGroup(freedBy, 0);
            }
        }
    }

    /// <summary>Moves the next <paramref name="count"/> ids of <paramref name="queue"/> (a group just dequeued) to the pool.</summary>
    private void ToPool(PageGroupQueue queue, int count)
    {
        PendingCount -= count;
        for (int i = 0; i < count; i++) Pool.Add(queue.Pop());
    }
}
