using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// A <see cref="TreePath"/> in an object of its own, for owners that are themselves copied or shared (a
/// <c>KvCursor</c>, the catalog's enumerator, the fuzzer's seed reader): they hold a reference and the path is
/// never copied. Moves allocate nothing; the path's logic and its checks (T1, T2) are all in <see cref="TreePath"/>.
/// </summary>
internal sealed class CursorPath
{
    private TreePath _path;

    /// <summary>Whether the path points at an entry.</summary>
    public bool IsValid => _path.IsValid;

    public void Reset() => _path.Reset();

    /// <inheritdoc cref="TreePath.Leaf(out int)"/>
    public Node Leaf(out int index) => _path.Leaf(out index);

    /// <inheritdoc cref="TreePath.Leaf(PageContext, out int)"/>
    public Node Leaf(PageContext ctx, out int index) => _path.Leaf(ctx, out index);

    public bool First(PageContext ctx, in TreeDescriptor tree) => _path.First(ctx, tree);

    public bool Last(PageContext ctx, in TreeDescriptor tree) => _path.Last(ctx, tree);

    /// <inheritdoc cref="TreePath.Seek"/>
    public bool Seek(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out bool exact) =>
        _path.Seek(ctx, tree, key, out exact);

    public bool Next(PageContext ctx) => _path.Next(ctx);

    public bool Prev(PageContext ctx) => _path.Prev(ctx);
}
