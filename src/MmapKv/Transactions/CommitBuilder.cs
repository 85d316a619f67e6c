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

    public CommitBuilder(SnapshotPublisher publisher, CommitPipeline pipeline, DurabilityPolicy durability, int pageSize)
    {
        _publisher = publisher;
        _pipeline = pipeline;
        _durability = durability;
        _pageSize = pageSize;
    }

    /// <summary>
    /// Commits one write transaction over <paramref name="baseSnapshot"/>. On failure its pages are given back
    /// (and a storage failure poisons the pipeline, D2); either way the transaction is over.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The database was closed meanwhile; nothing was published.</exception>
    public DurableTicket Commit(Snapshot baseSnapshot, TransactionPages pages, TreeWriter writer, TreeState main,
        TreeState catalogTree, CatalogChanges catalog, Durability? durability)
    {
        try
        {
            if (!main.Dirty && !catalog.HasChanges)
            {
                pages.Abort();
                // Nothing new; Immediate still waits for earlier deferred commits.
                return _durability.TicketFor(_publisher.Current.TxnId, durability);
            }
            catalog.WriteTo(writer, catalogTree);
            var (freeFirst, freePages) = FreeMapWriter.Write(pages, baseSnapshot.Meta.FreeMapPage, baseSnapshot.Meta.FreeMapPages);
            var ranges = PageSealer.Seal(pages);
            var meta = new MetaRecord
            {
                PageSize = _pageSize,
                TxnId = pages.TxnId,
                PageCount = pages.PageCount,
                FreeMapPage = freeFirst,
                FreeMapPages = freePages,
                Main = main.Desc,
                Catalog = catalogTree.Desc,
            };
            // Published first: a database disposed meanwhile refuses the commit, and the allocator is then untouched for the abort below.
            _publisher.Publish(new Snapshot(meta), ranges);
            pages.Commit();
        }
        catch (Exception e)
        {
            _pipeline.PoisonIfStorageFailed(e);
            pages.Abort();
            throw;
        }
        return _durability.TicketFor(pages.TxnId, durability);
    }
}
