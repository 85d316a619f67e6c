using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>The root-to-leaf walk that cursors and the writer share; point lookups use the leaner <see cref="TreeReader"/>.</summary>
internal static class TreeDescent
{
    /// <summary>
    /// Fills <paramref name="ids"/> and <paramref name="indexes"/> with the path to <paramref name="key"/>: at each
    /// branch the child taken, at the leaf the first entry not less than the key (possibly one past the last).
    /// Returns the leaf, and whether the key exists. Each page's kind is checked against its level (T1).
    /// </summary>
    public static Node ToKey(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, Span<long> ids, Span<int> indexes, out bool exact)
    {
        uint hint = NodeLayout.Hint(key);
        var order = tree.Order;
        long id = tree.Root;
        int leafLevel = tree.Depth - 1;
        for (int level = 0; level < leafLevel; level++)
        {
            Node b = ctx.Node(id, PageKind.Branch);
            int i = order is null ? b.ChildIndex(key, hint) : b.ChildIndex(key, order);
            ids[level] = id;
            indexes[level] = i;
            id = b.ChildAt(i);
            // A page twice on one path is a cycle (its kinds can still match level by level). The writer would
            // shadow it twice and edit two copies of one page, so it is refused here.
            for (int up = 0; up <= level; up++)
                if (ids[up] == id) Corrupt.Throw(id, "page appears twice on one root-to-leaf path (cycle)");
        }
        Node leaf = ctx.Node(id, PageKind.Leaf);
        ids[leafLevel] = id;
        indexes[leafLevel] = order is null ? leaf.LowerBound(key, hint, 0, out exact) : leaf.LowerBound(key, order, 0, out exact);
        return leaf;
    }
}
