using MmapKv.Catalog;
using MmapKv.Format;

namespace MmapKv;

/// <summary>
/// A point inside a write transaction that <see cref="WriteTransaction.RollbackTo"/> can return to, made by
/// <see cref="WriteTransaction.CreateSavepoint"/>. Savepoints nest: rolling back to one keeps it and drops every
/// savepoint made after it.
/// </summary>
/// <remarks>
/// A savepoint belongs to the transaction that made it and lives until that transaction ends or a rollback to an
/// earlier savepoint drops it. The handle holds the recorded state (docs/design.md §17); it is not reused.
/// </remarks>
public sealed class Savepoint
{
    internal readonly WriteState Owner;
    /// <summary>The owner's generation: the transaction that made it (the owner object serves every write transaction).</summary>
    internal readonly long Generation;
    internal readonly TreeDescriptor MainDesc;
    internal readonly bool MainDirty;
    internal readonly CatalogChanges.Snapshot Catalog;

    /// <summary>Set when a rollback to an earlier savepoint drops this one.</summary>
    internal bool Dropped;

    internal Savepoint(WriteState owner, long generation, int depth, in TreeDescriptor mainDesc, bool mainDirty, CatalogChanges.Snapshot catalog)
    {
        Owner = owner;
        Generation = generation;
        Depth = depth;
        MainDesc = mainDesc;
        MainDirty = mainDirty;
        Catalog = catalog;
    }

    /// <summary>How many savepoints of the transaction are older than this one: 0 for the outermost.</summary>
    public int Depth { get; }
}
