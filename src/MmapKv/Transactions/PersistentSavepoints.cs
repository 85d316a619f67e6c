using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.FreeSpace;
using MmapKv.Pages;

namespace MmapKv.Transactions;

/// <summary>
/// The persistent savepoints as one write transaction changes them (docs/format.md §13): the table of the base
/// state, read on first use, and the changes that make, delete or restore one. Reused by the database's write
/// transactions (<see cref="WriterSession"/>), under the writer lock.
/// </summary>
/// <remarks>
/// What a savepoint keeps rests on K1 and K2 (docs/format.md §13.2): a tree page no newer than the newest savepoint is
/// retained when freed, and every page of the current state (or of a newer savepoint) written no later than savepoint
/// <c>S</c> belongs to <c>S</c>'s state. So the pages only one savepoint keeps are found by walking just what changed
/// around it (§13.3), never the whole file.
/// </remarks>
internal sealed class PersistentSavepoints
{
    private readonly List<SavepointRecord> _records = new();
    private MetaRecord _base;
    private bool _loaded;

    /// <summary>Whether this transaction made, deleted or restored a savepoint: the commit then writes a new table.</summary>
    public bool Changed { get; private set; }

    /// <summary>Starts over for a write transaction based on <paramref name="baseMeta"/>.</summary>
    public void Begin(in MetaRecord baseMeta)
    {
        _base = baseMeta;
        _records.Clear();
        _loaded = false;
        Changed = false;
    }

    /// <summary>The savepoints, oldest first, as this transaction sees them.</summary>
    /// <exception cref="CorruptDatabaseException">The table is damaged (K4).</exception>
    public IReadOnlyList<SavepointRecord> Records(PageContext ctx)
    {
        if (!_loaded)
        {
            Load(ctx, _base, _records);
            _loaded = true;
        }
        return _records;
    }

    /// <summary>Reads the table of <paramref name="meta"/> into <paramref name="into"/> (empty when it has none).</summary>
    /// <exception cref="CorruptDatabaseException">The table is damaged (K4).</exception>
    public static unsafe void Load(PageContext ctx, in MetaRecord meta, List<SavepointRecord> into)
    {
        into.Clear();
        if (!meta.HasSavepoints) return;
        if (SavepointTableLayout.TryRead(ctx.Page(meta.SavepointTable), meta, into) is { } problem)
        {
            into.Clear();
            Corrupt.Throw(meta.SavepointTable, problem);
        }
    }

    /// <summary>Records the base state as a new savepoint whose id is <paramref name="txnId"/>, this commit's.</summary>
    /// <exception cref="MmapKvException">There are <see cref="SavepointTableLayout.MaxSavepoints"/> savepoints already.</exception>
    public long Create(PageContext ctx, TransactionPages pages, long txnId, TimeProvider clock)
    {
        var records = Records(ctx);
        if (records.Count >= SavepointTableLayout.MaxSavepoints)
            throw new MmapKvException($"The database already keeps {SavepointTableLayout.MaxSavepoints} persistent savepoints, the most it can; delete one first (each keeps the pages its state needs).");
        _records.Add(new SavepointRecord(txnId, clock.GetUtcNow().ToUnixTimeMilliseconds(), _base.Main, _base.Catalog));
        pages.RetainUpTo = txnId;
        Changed = true;
        return txnId;
    }

    /// <summary>Deletes savepoint <paramref name="id"/> and releases the pages only it kept (§13.3).</summary>
    /// <returns>False if there is no such savepoint.</returns>
    public bool Delete(PageContext ctx, TransactionPages pages, long id, int maxKeySize)
    {
        int index = IndexOf(ctx, id);
        if (index < 0) return false;
        RemoveAt(ctx, pages, index, maxKeySize);
        return true;
    }

    /// <summary>
    /// Makes the state of savepoint <paramref name="id"/> the transaction's (its default and catalog trees are
    /// returned for the caller to install), deleting the savepoints made after it and freeing the pages of the base
    /// state that the restored one does not use. The savepoint itself stays.
    /// </summary>
    /// <exception cref="KeyNotFoundException">There is no such savepoint.</exception>
    public SavepointRecord Restore(PageContext ctx, TransactionPages pages, long id, int maxKeySize)
    {
        int index = IndexOf(ctx, id);
        if (index < 0) throw new KeyNotFoundException($"There is no persistent savepoint {id}.");
        for (int i = _records.Count - 1; i > index; i--) RemoveAt(ctx, pages, i, maxKeySize);
        var target = _records[index];
        pages.RetainUpTo = target.Id; // K1: what the base state wrote after it is kept by nobody now
        // Pages of the base state written after the savepoint are not in its state (K2): free them. Those written
        // before it are shared with it, and so is everything below them.
        StateWalk.Walk(ctx, _base.Main, _base.Catalog, maxKeySize, new Freeing(pages),
            page => ctx.TxnOf(page) > target.Id);
        Changed = true;
        return target;
    }

    /// <summary>How many pages deleting savepoint <paramref name="index"/> would release now (the stats).</summary>
    public static long ExclusivePages(PageContext ctx, IReadOnlyList<SavepointRecord> records, int index,
        in TreeDescriptor currentMain, in TreeDescriptor currentCatalog, int maxKeySize)
    {
        var counter = new Counting();
        WalkExclusive(ctx, records, index, currentMain, currentCatalog, maxKeySize, counter);
        return counter.Pages;
    }

    /// <summary>
    /// Writes this commit's table, if it changed: frees the old run and writes a new one (none when no savepoint is
    /// left). Returns the meta fields to commit.
    /// </summary>
    public unsafe (long First, long Pages, int Count, long Newest) WriteTable(TransactionPages pages)
    {
        if (!Changed) return (_base.SavepointTable, _base.SavepointTablePages, _base.SavepointCount, _base.NewestSavepoint);
        if (_base.SavepointTable != 0) pages.FreeRun(_base.SavepointTable, _base.SavepointTablePages);
        if (_records.Count == 0) return (0, 0, 0, 0);
        long runPages = SavepointTableLayout.RunPagesFor(pages.PageSize, _records.Count);
        long first = pages.AllocateRun(runPages);
        SavepointTableLayout.Write(pages.Page(first), first, pages.TxnId, runPages, pages.PageSize, _records);
        return (first, runPages, _records.Count, _records[^1].Id);
    }

    private int IndexOf(PageContext ctx, long id)
    {
        var records = Records(ctx);
        for (int i = 0; i < records.Count; i++) if (records[i].Id == id) return i;
        return -1;
    }

    private void RemoveAt(PageContext ctx, TransactionPages pages, int index, int maxKeySize)
    {
        WalkExclusive(ctx, _records, index, _base.Main, _base.Catalog, maxKeySize, new Releasing(pages));
        _records.RemoveAt(index);
        pages.RetainUpTo = _records.Count == 0 ? 0 : _records[^1].Id;
        Changed = true;
    }

    /// <summary>
    /// Visits the pages of savepoint <paramref name="index"/> that no other state reaches (§13.3): not the previous
    /// savepoint's (those it wrote no later than that one, K2), and not the next state's (the next savepoint's, or
    /// the current state's): those are found by walking the next state through the pages it wrote after this
    /// savepoint; the first page it reaches written no later than this savepoint is shared with it, with everything
    /// below. A page live in two states is live in every state between them, so the neighbours are enough.
    /// </summary>
    private static void WalkExclusive(PageContext ctx, IReadOnlyList<SavepointRecord> records, int index,
        in TreeDescriptor currentMain, in TreeDescriptor currentCatalog, int maxKeySize, ITreeVisitor visitor)
    {
        var self = records[index];
        long previous = index == 0 ? 0 : records[index - 1].Id;
        var nextMain = index + 1 < records.Count ? records[index + 1].Main : currentMain;
        var nextCatalog = index + 1 < records.Count ? records[index + 1].Catalog : currentCatalog;
        var shared = new HashSet<long>();
        StateWalk.Walk(ctx, nextMain, nextCatalog, maxKeySize, Ignoring.Instance, page =>
        {
            if (ctx.TxnOf(page) > self.Id) return true;
            shared.Add(page);
            return false;
        });
        StateWalk.Walk(ctx, self.Main, self.Catalog, maxKeySize, visitor,
            page => !shared.Contains(page) && ctx.TxnOf(page) > previous);
    }

    /// <summary>A page reached twice in one state is damage: acting on it twice would free it twice.</summary>
    private abstract class StrictVisitor : ITreeVisitor
    {
        public abstract void Node(Node node, int level, KeyBounds bounds);
        public abstract void OverflowRun(long first, long runPages, long leaf);
        public void Repeated(long pageId, long fromPageId, string reason) => Corrupt.Throw(pageId, reason);
    }

    private sealed class Ignoring : StrictVisitor
    {
        public static readonly Ignoring Instance = new();
        public override void Node(Node node, int level, KeyBounds bounds) { }
        public override void OverflowRun(long first, long runPages, long leaf) { }
    }

    private sealed class Releasing(TransactionPages pages) : StrictVisitor
    {
        public override void Node(Node node, int level, KeyBounds bounds) => pages.ReleaseRetained(node.Id, 1);
        public override void OverflowRun(long first, long runPages, long leaf) => pages.ReleaseRetained(first, runPages);
    }

    private sealed class Freeing(TransactionPages pages) : StrictVisitor
    {
        public override void Node(Node node, int level, KeyBounds bounds) => pages.FreePage(node.Id);
        public override void OverflowRun(long first, long runPages, long leaf) => pages.FreeRun(first, runPages);
    }

    private sealed class Counting : StrictVisitor
    {
        public long Pages;
        public override void Node(Node node, int level, KeyBounds bounds) => Pages++;
        public override void OverflowRun(long first, long runPages, long leaf) => Pages += runPages;
    }
}
