using System.Runtime.CompilerServices;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// A root-to-leaf position in a tree, held inline: the page and entry index at every level in two fixed-size
/// buffers of <see cref="Limits.MaxTreeDepth"/> entries, so a path is a value that lives wherever its owner does (a
/// field of <see cref="CursorPath"/>, or a scan's enumerator on the stack) and positioning and stepping allocate
/// nothing. Each step down checks the child's kind against its level (T1).
/// </summary>
/// <remarks>
/// The leaf is validated once, when the path reaches it, and its view is kept until the path moves to another leaf:
/// a step inside the leaf and the reads of its key and value then check only the slot they touch. A committed page
/// never changes, and a page of a write transaction changes only through a write, after which the owner must not
/// step the path again without seeking (KvCursor finds its place again; a scan refuses to go on).
/// A mutable struct: keep it in a field or local that is not readonly, and never copy it while in use.
/// </remarks>
internal struct TreePath
{
    [InlineArray(Limits.MaxTreeDepth)]
    private struct PageIds { private long _first; }

    [InlineArray(Limits.MaxTreeDepth)]
    private struct Indexes { private int _first; }

    private PageIds _ids;
    private Indexes _idx;
    private int _depth;
    private Node _leaf; // the validated view of _ids[_depth - 1], while IsValid
    private KeyComparer? _order; // the tree's order (null: bytewise), taken at each positioning
    private int _leafChanges; // steps into another leaf since the last positioning: a long walk prefetches

    /// <summary>The key order of the tree the path was last positioned in (null: bytewise).</summary>
    public readonly KeyComparer? Order => _order;

    /// <summary>Whether the path points at an entry.</summary>
    public bool IsValid { readonly get; private set; }

    public void Reset() => IsValid = false;

    private static PageKind KindAt(int level, int depth) => level == depth - 1 ? PageKind.Leaf : PageKind.Branch;

    /// <summary>The current leaf and entry index. Only when <see cref="IsValid"/>.</summary>
    public readonly Node Leaf(out int index)
    {
        index = _idx[_depth - 1];
        return _leaf;
    }

    /// <summary>As <see cref="Leaf(out int)"/>, with the leaf's header checked again through <paramref name="ctx"/>.</summary>
    public readonly Node Leaf(PageContext ctx, out int index)
    {
        index = _idx[_depth - 1];
        return ctx.Node(_ids[_depth - 1], PageKind.Leaf);
    }

    /// <summary>Descends from the root, taking the first (or last) child at every level below <paramref name="from"/>.</summary>
    private void DescendEdge(PageContext ctx, int from, long id, bool last)
    {
        for (int level = from; level < _depth; level++)
        {
            Node n = ctx.Node(id, KindAt(level, _depth));
            int i = last ? n.Count - 1 : 0;
            _ids[level] = id;
            _idx[level] = i;
            if (level < _depth - 1) id = n.ChildAt(i);
            else _leaf = n;
        }
        IsValid = true;
    }

    /// <summary>
    /// Starts loading the leaf a walk in direction <paramref name="dir"/> reaches after the current one, when it is
    /// a sibling under the same parent (the parent was just validated by the descent; its child id is only a hint).
    /// </summary>
    private readonly void PrefetchNextLeaf(PageContext ctx, int dir)
    {
        if (_depth < 2) return;
        int parent = _depth - 2;
        if (ctx.Node(_ids[parent], PageKind.Branch).TryChildAt(_idx[parent] + dir, out long next)) ctx.Prefetch(next);
    }

    public bool First(PageContext ctx, in TreeDescriptor tree) => Edge(ctx, tree, last: false);

    public bool Last(PageContext ctx, in TreeDescriptor tree) => Edge(ctx, tree, last: true);

    private bool Edge(PageContext ctx, in TreeDescriptor tree, bool last)
    {
        IsValid = false;
        _leafChanges = 0;
        _order = tree.Order;
        if (tree.IsEmpty) return false;
        _depth = tree.Depth;
        DescendEdge(ctx, 0, tree.Root, last);
        return true;
    }

    /// <summary>Positions at the first entry whose key is &gt;= <paramref name="key"/>. Sets <paramref name="exact"/> when equal.</summary>
    public bool Seek(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out bool exact)
    {
        IsValid = false;
        _leafChanges = 0;
        exact = false;
        _order = tree.Order;
        if (tree.IsEmpty) return false;
        _depth = tree.Depth;
        Node leaf = _leaf = TreeDescent.ToKey(ctx, tree, key, _ids, _idx, out exact);
        int at = _idx[_depth - 1];
        IsValid = true;
        if (at < leaf.Count) return true;
        // Past the end of this leaf: the answer is the first entry of the next leaf, if any.
        _idx[_depth - 1] = at - 1;
        return Next(ctx);
    }

    public bool Next(PageContext ctx) => Step(ctx, +1);

    public bool Prev(PageContext ctx) => Step(ctx, -1);

    private bool Step(PageContext ctx, int dir)
    {
        if (!IsValid) return false;
        int leaf = _depth - 1;
        int i = _idx[leaf] + dir;
        if (i >= 0 && i < _leaf.Count)
        {
            _idx[leaf] = i;
            return true;
        }
        // Climb to the nearest ancestor with a sibling in that direction, then descend its near edge.
        var edge = _leaf.KeyAt(_idx[leaf]); // stays valid: committed pages don't change
        long from = _ids[leaf];
        for (int level = leaf - 1; level >= 0; level--)
        {
            Node b = ctx.Node(_ids[level], PageKind.Branch);
            int j = _idx[level] + dir;
            if (j < 0 || j >= b.Count) continue;
            _idx[level] = j;
            DescendEdge(ctx, level + 1, b.ChildAt(j), last: dir < 0);
            // From the second leaf on, the walk is a scan: load the leaf after this one meanwhile. A short walk (a
            // range of a few entries, crossing one boundary) would mostly fetch a page it never reads.
            if (++_leafChanges >= 2) PrefetchNextLeaf(ctx, dir);
            // T2 across leaves. Checking it at each leaf change also stops a walk over a damaged tree that shares
            // subtrees (which would revisit keys, possibly exponentially often) at the first repeat.
            var reached = Leaf(out int k).KeyAt(k);
            int c = _order is null ? reached.SequenceCompareTo(edge) : _order.Compare(reached, edge);
            if (dir > 0 ? c <= 0 : c >= 0)
                Corrupt.Throw(from, "keys do not ascend across leaves (damaged or shared subtree)");
            return true;
        }
        IsValid = false;
        return false;
    }
}
