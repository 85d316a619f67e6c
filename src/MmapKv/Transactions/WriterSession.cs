using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;

namespace MmapKv.Transactions;

/// <summary>
/// What every write transaction of one database reuses, so that a write transaction allocates nothing of its own
/// but its public facade: the tree writer and its pinned scratch, the default and catalog tree states, the catalog
/// changes, and the base state's record. One transaction at a time uses them, under the writer lock; each
/// <see cref="Begin"/> resets them for the next.
/// </summary>
/// <remarks>
/// Reuse is safe because nothing outside the writer lock reaches these objects except through a
/// <c>WriteTransaction</c>, and every entry point of an ended transaction (its cursors and tree handles included)
/// checks that it has ended before it touches them. The facade itself is not reused: a caller holds a reference to
/// it, and a reused object could not tell a stale reference from the live one.
/// </remarks>
internal sealed class WriterSession
{
    private readonly int _pageSize;
    private byte[]? _scratch;
    private TreeWriter? _writer;
    private TransactionPages? _writerPages;

    public WriterSession(int pageSize) => _pageSize = pageSize;

    /// <summary>The default tree as the open write transaction sees it.</summary>
    public TreeState MainTree { get; } = new(null, default);

    /// <summary>The catalog tree as the open write transaction sees it.</summary>
    public TreeState CatalogTree { get; } = new(null, default);

    /// <summary>The open write transaction's named-tree changes.</summary>
    public CatalogChanges Catalog { get; } = new();

    /// <summary>The open write transaction's savepoints, innermost last (W6); empty unless it made one.</summary>
    public List<Savepoint> Savepoints { get; } = new();

    /// <summary>The open write transaction's persistent-savepoint changes (docs/format.md §13).</summary>
    public PersistentSavepoints Persistent { get; } = new();

    /// <summary>The record of the state the open write transaction is based on.</summary>
    public MetaRecord BaseMeta;

    /// <summary>Resets everything for a new write transaction based on <paramref name="baseMeta"/>. Under the writer lock.</summary>
    public void Begin(in MetaRecord baseMeta)
    {
        BaseMeta = baseMeta;
        MainTree.Reset(baseMeta.Main);
        CatalogTree.Reset(baseMeta.Catalog);
        Catalog.Clear();
        Savepoints.Clear();
        Persistent.Begin(baseMeta);
    }

    /// <summary>The tree writer for one write transaction's pages, reset. Under the writer lock.</summary>
    public TreeWriter WriterFor(TransactionPages pages)
    {
        if (_writer is null || !ReferenceEquals(_writerPages, pages))
        {
            _writer = new TreeWriter(pages, _scratch ??= GC.AllocateUninitializedArray<byte>(TreeWriter.BufferSize(_pageSize), pinned: true));
            _writerPages = pages;
        }
        else _writer.Reset();
        return _writer;
    }
}
