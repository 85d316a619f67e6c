using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// A read-only snapshot of the database. It sees exactly the state of one commit for its whole life, whatever
/// commits happen meanwhile, and never blocks the writer. Keep it short-lived: pages it can see are not reused
/// until it ends, so a forgotten reader makes the file grow.
/// </summary>
public sealed class ReadTransaction : KvTransaction
{
    private readonly PageContext _context;
    private readonly int _readerSlot;

    internal ReadTransaction(KvDatabase db, Snapshot snapshot, int readerSlot)
        : base(db, snapshot.TxnId, snapshot.Meta)
    {
        _readerSlot = readerSlot;
        SnapshotMeta = snapshot.Meta;
        _context = db.ContextAt(snapshot.Meta.PageCount, db.Options.VerifyChecksums ? new PageVerifier() : null);
    }

    /// <inheritdoc/>
    public override bool IsReadOnly => true;

    internal override PageContext Context => _context;

    internal MetaRecord SnapshotMeta { get; }

    /// <summary>Opens an existing named tree.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    public override KvTree OpenTree(string name)
    {
        using var use = Use();
        ThrowIfEnded();
        return new KvTree(this, FindTree(name) ?? throw new KeyNotFoundException($"No tree named '{name}' exists."));
    }

    private protected override void End() => Db.EndRead(_readerSlot);

    /// <summary>
    /// A reader that was never disposed and is now unreachable: its slot starts the grace period after which the
    /// pages it holds may be reused (L2). Only an undisposed transaction gets here (Dispose suppresses this).
    /// </summary>
    ~ReadTransaction()
    {
        if (!_ended) Db.AbandonRead(_readerSlot);
    }
}
