using MmapKv.Format;

namespace MmapKv.Transactions;

/// <summary>
/// One committed state, published to readers by reference. Immutable: a reader that holds it sees the same trees
/// for its whole life, because the pages they reach are never written while a reader can see them (R1).
/// </summary>
internal sealed class Snapshot
{
    public Snapshot(MetaRecord meta) => Meta = meta;

    public MetaRecord Meta { get; }
    public long TxnId => Meta.TxnId;
}
