using MmapKv.FreeSpace;
using MmapKv.BTree;

namespace MmapKv.Transactions;

/// <summary>
/// What every write transaction of one database reuses: the tree writer's pinned scratch, allocated once (on the
/// first write transaction) and used only under the writer lock, so a write transaction allocates no pinned memory
/// of its own.
/// </summary>
internal sealed class WriterSession
{
    private readonly int _pageSize;
    private byte[]? _scratch;

    public WriterSession(int pageSize) => _pageSize = pageSize;

    /// <summary>A tree writer for one write transaction's pages. Under the writer lock.</summary>
    public TreeWriter WriterFor(TransactionPages pages) =>
        new(pages, _scratch ??= GC.AllocateUninitializedArray<byte>(TreeWriter.BufferSize(_pageSize), pinned: true));
}
