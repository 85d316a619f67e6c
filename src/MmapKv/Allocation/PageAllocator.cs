using MmapKv.BTree;

namespace MmapKv.Allocation;

/// <summary>
/// Free space across transactions. Touched only by the writer, under the writer lock.
/// </summary>
/// <remarks>
/// A page freed by the commit of transaction F was reachable in snapshot F-1 and is not in snapshot F.
/// Reuse rule (docs/format.md §7, ENGINE.md "Free space"): it may be written again only when
/// <list type="bullet">
/// <item>R1: no open reader has a snapshot older than F (so none can reach it), and</item>
/// <item>R2 (quarantine): F is at most the last durable transaction, so the durable meta never references it and
/// an arbitrary writeback of the page cannot damage the state a crash would recover.</item>
/// </list>
/// Pages in <see cref="Pool"/> satisfy both; <see cref="_pending"/> holds the rest, grouped by F in commit order.
/// </remarks>
internal sealed class PageAllocator
{
    private readonly Queue<(long FreedBy, long[] Pages)> _pending = new();

    /// <summary>Pages that may be written now.</summary>
    public FreePageSet Pool { get; } = new();

    /// <summary>Committed high-water mark: pages [0, PageCount) are in use, free, or the free map.</summary>
    public long PageCount { get; set; }

    /// <summary>Pages freed by commits that some reader or the quarantine still protects.</summary>
    public long PendingCount { get => Volatile.Read(ref _pendingCount); private set => Volatile.Write(ref _pendingCount, value); }
    private long _pendingCount;

    /// <summary>The committed free map's bitmap pages, in order (docs/format.md §7).</summary>
    public List<long> BitmapIds { get; set; }

    /// <summary>Loads the free map of the opened snapshot.</summary>
    public PageAllocator(PageContext ctx, long directoryFirst, long directoryPages)
    {
        PageCount = ctx.PageCount;
        var ids = FreeMap.ReadDirectory(ctx, directoryFirst, directoryPages);
        BitmapIds = ids.ToList();
        // Opening makes the opened meta durable (see KvDatabase.Open), so everything it marks free is free under R1 and R2.
        FreeMap.ReadFree(ctx, ids, Pool.AddRun);
        // The map must not call its own pages free, or the first allocation would overwrite it.
        foreach (long id in ids)
            if (Pool.Contains(id)) throw new CorruptDatabaseException(id, "a free-map bitmap page is marked free");
        for (long id = directoryFirst; id < directoryFirst + directoryPages; id++)
            if (Pool.Contains(id)) throw new CorruptDatabaseException(id, "a free-map directory page is marked free");
    }

    /// <summary>Records the pages freed by the commit of <paramref name="txnId"/>.</summary>
    public void AddPending(long txnId, long[] pages)
    {
        if (pages.Length == 0) return;
        _pending.Enqueue((txnId, pages));
        PendingCount += pages.Length;
    }

    /// <summary>Moves to the pool every pending group freed at or before <paramref name="horizon"/> (R1 and R2 both hold).</summary>
    public void Release(long horizon)
    {
        while (_pending.Count > 0 && _pending.Peek().FreedBy <= horizon)
        {
            var (_, pages) = _pending.Dequeue();
            PendingCount -= pages.Length;
            foreach (long id in pages) Pool.Add(id);
        }
    }
}
