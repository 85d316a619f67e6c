using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Format;

namespace MmapKv;

/// <summary>Shape and size of one tree.</summary>
/// <param name="Name">The tree's name; null for the default tree.</param>
/// <param name="Depth">Levels from root to leaf; 0 for an empty tree.</param>
/// <param name="Entries">Key/value pairs.</param>
/// <param name="BranchPages">Interior pages.</param>
/// <param name="LeafPages">Leaf pages.</param>
/// <param name="OverflowPages">Pages holding large values.</param>
public sealed record TreeStats(string? Name, int Depth, long Entries, long BranchPages, long LeafPages, long OverflowPages)
{
    internal static TreeStats From(string? name, in TreeDescriptor d) =>
        new(name, d.Depth, d.Entries, d.BranchPages, d.LeafPages, d.OverflowPages);
}

/// <summary>Statistics of one committed state, from <see cref="KvDatabase.GetStats"/>.</summary>
public sealed record KvStats
{
    /// <summary>Page size in bytes.</summary>
    public required int PageSize { get; init; }
    /// <summary>File length in bytes (including space allocated ahead of use).</summary>
    public required long FileSize { get; init; }
    /// <summary>Pages below the high-water mark: in use, free, or holding the free-space map.</summary>
    public required long PageCount { get; init; }
    /// <summary>Free pages (reusable now, or once older readers and the quarantine allow).</summary>
    public required long FreePages { get; init; }
    /// <summary>
    /// Of the free pages, those not yet reusable: an open reader may still see them, or the commit that freed them
    /// is not durable yet (quarantine). A long-lived reader shows up here.
    /// </summary>
    public required long HeldFreePages { get; init; }
    /// <summary>Pages that hold the free-space map itself (its directory and bitmap pages).</summary>
    public required long FreeMapPages { get; init; }
    /// <summary>Id of the commit these figures describe.</summary>
    public required long TxnId { get; init; }
    /// <summary>Id of the newest durable commit.</summary>
    public required long DurableTxnId { get; init; }
    /// <summary>Read transactions open, not counting the one used to collect these figures.</summary>
    public required int ActiveReaders { get; init; }
    /// <summary>How long the oldest open read transaction has been open; zero when none is.</summary>
    public TimeSpan OldestReaderAge => Readers.Count == 0 ? TimeSpan.Zero : Readers[0].Age;
    /// <summary>
    /// The open read transactions, oldest first, with where each was started when
    /// <see cref="KvOptions.TrackTransactions"/> is on. A reader that stays here long is holding space.
    /// </summary>
    public required IReadOnlyList<ReaderInfo> Readers { get; init; }
    /// <summary>The default tree.</summary>
    public required TreeStats Main { get; init; }
    /// <summary>The named trees, by name.</summary>
    public required IReadOnlyList<TreeStats> Trees { get; init; }

    /// <summary>The persistent savepoints, oldest first (<see cref="KvDatabase.CreatePersistentSavepoint"/>).</summary>
    public IReadOnlyList<PersistentSavepointInfo> Savepoints { get; init; } = [];

    /// <summary>
    /// Pages kept for persistent savepoints: their table, and the pages of their states that no tree of this state
    /// uses and that are not free. Each is counted once, however many savepoints share it. Deleting the savepoints
    /// frees them (docs/format.md §13).
    /// </summary>
    public long SavepointPages { get; init; }

    /// <summary>Total entries across the default and named trees.</summary>
    public long TotalEntries => Main.Entries + Trees.Sum(t => t.Entries);

    internal static KvStats Collect(ReadTransaction tx, long fileSize, IReadOnlyList<ReaderInfo> readers, long held)
    {
        var ctx = tx.Context;
        var meta = tx.SnapshotMeta;
        long free = 0;
        var map = FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages);
        FreeMap.ReadFree(ctx, map, (_, l) => free += l);
        var trees = new List<TreeStats>();
        long treePages = PagesOf(meta.Main) + PagesOf(meta.Catalog);
        foreach (var entry in tx.CommittedCatalog)
        {
            trees.Add(TreeStats.From(entry.Name, entry.Descriptor));
            treePages += PagesOf(entry.Descriptor);
        }
        long freeMapPages = meta.FreeMapPages + map.Bitmaps.Length;
        return new KvStats
        {
            PageSize = ctx.PageSize,
            FileSize = fileSize,
            PageCount = ctx.PageCount,
            FreePages = free,
            HeldFreePages = held,
            FreeMapPages = freeMapPages,
            Savepoints = KvDatabase.DescribeSavepoints(ctx, meta, tx.Db.MaxKeySize),
            SavepointPages = meta.HasSavepoints
                ? ctx.PageCount - MetaPage.Count - treePages - free - freeMapPages : 0,
            TxnId = tx.TxnId,
            DurableTxnId = tx.Db.DurableTxnId,
            ActiveReaders = readers.Count,
            Readers = readers,
            Main = TreeStats.From(null, tx.MainTree.Desc),
            Trees = trees,
        };
    }

    private static long PagesOf(in TreeDescriptor d) => d.BranchPages + d.LeafPages + d.OverflowPages;
}
