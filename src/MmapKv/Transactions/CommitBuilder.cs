using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;

namespace MmapKv.Transactions;

/// <summary>
/// The in-memory half of a commit, one per database and used under the writer lock: writes the transaction's
/// catalog changes, its free map and page checksums, builds the meta record, publishes the snapshot, and asks the
/// durability policy what the committer must wait for. The flush itself is the pipeline's (D1, D2).
/// </summary>
internal sealed class CommitBuilder
{
    private readonly SnapshotPublisher _publisher;
    private readonly CommitPipeline _pipeline;
    private readonly DurabilityPolicy _durability;
    private readonly int _pageSize;
    // The sealed ranges of the commit being built; the pipeline copies them, so the list is reused by the next commit.
    // A list that a huge commit grew past RetainLimit entries is dropped instead, so a bulk load does not pin it.
    private List<(long First, long Pages)> _ranges = new();
    private const int RetainLimit = 1 << 14;

    public CommitBuilder(SnapshotPublisher publisher, CommitPipeline pipeline, DurabilityPolicy durability, int pageSize)
    {
        _publisher = publisher;
        _pipeline = pipeline;
        _durability = durability;
        _pageSize = pageSize;
    }

    /// <summary>
    /// Commits one write transaction over the state <paramref name="baseMeta"/>. On failure its pages are given back
    /// (and a storage failure poisons the pipeline, D2); either way the transaction is over. Allocates nothing: the
    /// range list is this builder's, and the snapshot object is made only when a reader asks for it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The database was closed meanwhile; nothing was published.</exception>
    public DurableTicket Commit(in MetaRecord baseMeta, TransactionPages pages, TreeWriter writer, TreeState main,
        TreeState catalogTree, CatalogChanges catalog, PersistentSavepoints savepoints, Durability? durability)
    {
        try
        {
            if (!main.Dirty && !catalog.HasChanges && !savepoints.Changed)
            {
                pages.Abort();
                // Nothing new; Immediate still waits for earlier deferred commits.
                return _durability.TicketFor(_publisher.LatestTxn, durability);
            }
            catalog.WriteTo(writer, catalogTree);
            var table = savepoints.WriteTable(pages);
            var (freeFirst, freePages) = FreeMapWriter.Write(pages, baseMeta.FreeMapPage, baseMeta.FreeMapPages);
            PageSealer.Seal(pages, _ranges);
            var meta = new MetaRecord
            {
                PageSize = _pageSize,
                TxnId = pages.TxnId,
                PageCount = pages.PageCount,
                FreeMapPage = freeFirst,
                FreeMapPages = freePages,
                Main = main.Desc,
                Catalog = catalogTree.Desc,
                SavepointTable = table.First,
                SavepointTablePages = table.Pages,
                SavepointCount = table.Count,
                NewestSavepoint = table.Newest,
            };
            // W8: no page this commit took may be faulted in on its behalf once a flush can make it durable.
            pages.EndPrefault();
            // Published first: a database disposed meanwhile refuses the commit, and the allocator is then untouched for the abort below.
            _publisher.Publish(meta, _ranges);
            pages.Commit();
        }
        catch (Exception e)
        {
            _pipeline.PoisonIfStorageFailed(e);
            pages.Abort();
            throw;
        }
        if (_ranges.Capacity > RetainLimit) _ranges = new();
        return _durability.TicketFor(pages.TxnId, durability);
    }
}
