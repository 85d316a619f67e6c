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
    private readonly Queue<(long FreedBy, long[] Pages)> _pending = new();
    private readonly Queue<(long FreedBy, long WrittenBy, long[] Pages)> _young = new();

    // Pages written by commits newer than the newest meta a flush has taken, with the commit that wrote them (R2b).
    // A page missing here was written by a commit some flush has covered, so its free falls under R2.
    private readonly Dictionary<long, long> _writtenBy = new();
    private readonly Queue<(long Txn, long[] Pages)> _writes = new(); // the same pages in commit order, for pruning

    /// <summary>Pages that may be written now.</summary>
    public FreePageSet Pool { get; } = new();

    /// <summary>Committed high-water mark: pages [0, PageCount) are in use, free, or the free map.</summary>
    public long PageCount { get; set; }

    /// <summary>Pages freed by commits that some reader or the quarantine still protects.</summary>
    public long PendingCount { get => Volatile.Read(ref _pendingCount); private set => Volatile.Write(ref _pendingCount, value); }
    private long _pendingCount;

    /// <summary>The committed free map's bitmap pages, in order (docs/format.md §7).</summary>
    public IReadOnlyList<long> BitmapIds => _bitmapIds;
    private List<long> _bitmapIds;

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

    /// <summary>Loads the free map of the opened snapshot.</summary>
    public PageAllocator(PageContext ctx, long directoryFirst, long directoryPages)
    {
        PageCount = ctx.PageCount;
        var ids = FreeMap.ReadDirectory(ctx, directoryFirst, directoryPages);
        _bitmapIds = ids.ToList();
        // Opening makes the opened meta durable (see KvDatabase.Open), so everything it marks free is free under R1 and R2.
        FreeMap.ReadFree(ctx, ids, Pool.AddRun);
        // The map must not call its own pages free, or the first allocation would overwrite it.
        foreach (long id in ids)
            if (Pool.Contains(id)) Corrupt.Throw(id, "a free-map bitmap page is marked free");
        for (long id = directoryFirst; id < directoryFirst + directoryPages; id++)
            if (Pool.Contains(id)) Corrupt.Throw(id, "a free-map directory page is marked free");
    }

    /// <summary>
    /// Records a commit: the pages it wrote (for R2b) and the committed pages it freed, each kept until
    /// <see cref="Release"/> finds it reusable.
    /// </summary>
    public void AddCommit(long txnId, long[] written, IEnumerable<long> freed)
    {
        List<(long WrittenBy, List<long> Pages)>? young = null;
        List<long>? old = null;
        foreach (long id in freed)
        {
            if (_writtenBy.Remove(id, out long w))
            {
                young ??= new();
                int g = young.FindIndex(x => x.WrittenBy == w);
                if (g < 0) young.Add((w, new List<long> { id }));
                else young[g].Pages.Add(id);
            }
            else (old ??= new()).Add(id);
        }
        if (old is not null) _pending.Enqueue((txnId, old.ToArray()));
        if (young is not null)
            foreach (var (w, pages) in young) _young.Enqueue((txnId, w, pages.ToArray()));
        PendingCount += (old?.Count ?? 0) + (young?.Sum(g => g.Pages.Count) ?? 0);
        if (written.Length > 0)
        {
            foreach (long id in written) _writtenBy[id] = txnId;
            _writes.Enqueue((txnId, written));
        }
    }

    /// <summary>
    /// Moves to the pool every freed page that R1 and R2 (or R2b) allow. <paramref name="oldestReader"/> is the
    /// oldest snapshot any reader holds, <paramref name="durable"/> the durable transaction, and
    /// <paramref name="flushed"/> the newest meta a flush has taken (durable or being made durable).
    /// </summary>
    public void Release(long oldestReader, long durable, long flushed)
    {
        // Writes a flush has covered can no longer use R2b: forget them, so their frees fall under R2.
        while (_writes.Count > 0 && _writes.Peek().Txn <= flushed)
        {
            var (txn, pages) = _writes.Dequeue();
            foreach (long id in pages)
                if (_writtenBy.TryGetValue(id, out long w) && w == txn) _writtenBy.Remove(id);
        }
        long horizon = Math.Min(oldestReader, durable);
        while (_pending.Count > 0 && _pending.Peek().FreedBy <= horizon)
            ToPool(_pending.Dequeue().Pages);
        // R2b. A group whose writer a flush covered before the group could be released falls back to R2: it moves
        // to the pending queue rather than wait at the head here, where it would hold back every younger group
        // behind it until the next flush (the pending queue then releases it no earlier than F allows: safe).
        while (_young.Count > 0 && _young.Peek().FreedBy <= oldestReader)
        {
            var (freedBy, writtenBy, pages) = _young.Dequeue();
            if (writtenBy > flushed || freedBy <= durable) ToPool(pages);
            else _pending.Enqueue((freedBy, pages));
        }
    }

    private void ToPool(long[] pages)
    {
        PendingCount -= pages.Length;
        foreach (long id in pages) Pool.Add(id);
    }
}
