using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// A root-to-leaf position in a tree: the page and entry index at every level. Moves reuse the two arrays, so
/// positioning and stepping allocate nothing. Each step down checks the child's kind against its level (T1).
/// </summary>
/// <remarks>
/// The leaf is validated once, when the path reaches it, and its view is kept until the path moves to another leaf:
/// a step inside the leaf and the reads of its key and value then check only the slot they touch. A committed page
/// never changes, and a page of a write transaction changes only through a write, after which the cursor finds its
/// place again by a seek (KvCursor's version check), which revalidates.
/// </remarks>
internal sealed class CursorPath
{
    private readonly long[] _ids = new long[Limits.MaxTreeDepth];
    private readonly int[] _idx = new int[Limits.MaxTreeDepth];
    private int _depth;
    private Node _leaf; // the validated view of _ids[_depth - 1], while IsValid

    /// <summary>Whether the path points at an entry.</summary>
    public bool IsValid { get; private set; }

    public void Reset() => IsValid = false;

    private static PageKind KindAt(int level, int depth) => level == depth - 1 ? PageKind.Leaf : PageKind.Branch;

    /// <summary>The current leaf and entry index. Only when <see cref="IsValid"/>.</summary>
    public Node Leaf(out int index)
    {
        index = _idx[_depth - 1];
        return _leaf;
    }

    /// <summary>As <see cref="Leaf(out int)"/>, with the leaf's header checked again through <paramref name="ctx"/>.</summary>
    public Node Leaf(PageContext ctx, out int index)
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

    public bool First(PageContext ctx, in TreeDescriptor tree) => Edge(ctx, tree, last: false);

    public bool Last(PageContext ctx, in TreeDescriptor tree) => Edge(ctx, tree, last: true);

    private bool Edge(PageContext ctx, in TreeDescriptor tree, bool last)
    {
        IsValid = false;
        if (tree.IsEmpty) return false;
        _depth = tree.Depth;
        DescendEdge(ctx, 0, tree.Root, last);
        return true;
    }

    /// <summary>Positions at the first entry whose key is &gt;= <paramref name="key"/>. Sets <paramref name="exact"/> when equal.</summary>
    public bool Seek(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out bool exact)
    {
        IsValid = false;
        exact = false;
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
            // T2 across leaves. Checking it at each leaf change also stops a walk over a damaged tree that shares
            // subtrees (which would revisit keys, possibly exponentially often) at the first repeat.
            int c = Leaf(out int k).KeyAt(k).SequenceCompareTo(edge);
            if (dir > 0 ? c <= 0 : c >= 0)
                Corrupt.Throw(from, "keys do not ascend across leaves (damaged or shared subtree)");
            return true;
        }
        IsValid = false;
        return false;
    }
}
