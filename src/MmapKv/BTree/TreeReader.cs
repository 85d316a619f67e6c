using System.Runtime.CompilerServices;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>Point lookups: a root-to-leaf descent that allocates nothing and copies nothing.</summary>
internal static class TreeReader
{
    /// <summary>
    /// Finds <paramref name="key"/> in the tree described by <paramref name="tree"/>. The descent takes exactly
    /// <c>tree.Depth</c> steps and checks each page's kind against its level, so a cycle or a misplaced page is
    /// reported as corruption instead of looping.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryGet(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) =>
        TryGet(ctx, tree, key, out value, out _);

    /// <summary>As above, also giving the leaf the value was read from, so a caller that finds the value damaged can name the page.</summary>
    public static bool TryGet(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out long leafId)
    {
        leafId = 0;
        if (tree.IsEmpty) { value = default; return false; }
        if (tree.Order is not null) return TryGetOrdered(ctx, tree, key, out value, out leafId);
        uint hint = NodeLayout.Hint(key);
        long id = tree.Root;
        for (int level = tree.Depth; level > 1; level--)
        {
            Node branch = ctx.Node(id, PageKind.Branch);
            branch.PrefetchSlots();
            id = branch.ChildAt(branch.ChildIndex(key, hint));
        }
        Node leaf = ctx.Node(id, PageKind.Leaf);
        leafId = id;
        leaf.PrefetchSlots();
        int i = leaf.LowerBound(key, hint, 0, out bool exact);
        if (!exact) { value = default; return false; }
        value = leaf.ValueAt(i, ctx);
        return true;
    }

    /// <summary>The lookup of a tree not ordered bytewise: whole-key comparisons (docs/design.md §16).</summary>
    private static bool TryGetOrdered(PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out long leafId)
    {
        var order = tree.Order!;
        long id = tree.Root;
        for (int level = tree.Depth; level > 1; level--)
        {
            Node branch = ctx.Node(id, PageKind.Branch);
            id = branch.ChildAt(branch.ChildIndex(key, order));
        }
        Node leaf = ctx.Node(id, PageKind.Leaf);
        leafId = id;
        int i = leaf.LowerBound(key, order, 0, out bool exact);
        if (!exact) { value = default; return false; }
        value = leaf.ValueAt(i, ctx);
        return true;
    }
}
