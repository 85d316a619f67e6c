using MmapKv.Format;

namespace MmapKv.BTree;

/// <summary>
/// One tree as a transaction sees it: its descriptor, which a write transaction updates as it goes.
/// A read transaction's states are copies taken from its snapshot and never change.
/// </summary>
internal sealed class TreeState
{
    public TreeDescriptor Desc;

    /// <summary>The catalog name, or null for the default and catalog trees.</summary>
    public string? Name { get; }

    /// <summary>The descriptor changed in this write transaction and must be written back at commit.</summary>
    public bool Dirty;

    /// <summary>The tree was deleted in this write transaction; handles to it are dead.</summary>
    public bool Deleted;

    public TreeState(string? name, TreeDescriptor desc)
    {
        Name = name;
        Desc = desc;
    }

    /// <summary>Starts over at <paramref name="desc"/>, clean and not deleted: the write transactions of a database
    /// reuse their default and catalog tree states (Transactions.WriterSession).</summary>
    public void Reset(in TreeDescriptor desc)
    {
        Desc = desc;
        Dirty = false;
        Deleted = false;
    }
}
