using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Checking;

/// <summary>
/// Before a writer trusts the free map, checks that it marks no tree node free (invariant F4, docs/format.md §7.3).
/// A damaged map that called a live node free would hand it out for a new page while the tree still points to it:
/// the writer would then edit one page in two roles. Only branch pages are read (about one page in a hundred), since
/// they hold every node's id; an overflow run wrongly marked free is caught where it is used (W3 in TreeWriter).
/// </summary>
internal static class FreeMapAudit
{
    /// <exception cref="CorruptDatabaseException">A node is marked free, or a page or catalog entry on the way is damaged.</exception>
    public static void CheckNodesNotFree(PageContext ctx, in MetaRecord meta, int maxKeySize, FreePageSet pool)
    {
        if (pool.Count == 0) return;
        var seen = new HashSet<long>();
        Check(ctx, meta.Main, pool, seen);
        Check(ctx, meta.Catalog, pool, seen);
        foreach (var entry in new TreeCatalog(ctx, meta.Catalog, maxKeySize)) Check(ctx, entry.Descriptor, pool, seen);
    }

    private static void Check(PageContext ctx, in TreeDescriptor tree, FreePageSet pool, HashSet<long> seen)
    {
        if (tree.IsEmpty) return;
        if (pool.Contains(tree.Root)) Corrupt.Throw(tree.Root, "a tree root is marked free");
        var level = new List<long> { tree.Root };
        for (int depth = 1; depth < tree.Depth; depth++)
        {
            var next = new List<long>();
            foreach (long id in level)
            {
                if (!seen.Add(id)) continue; // shared subtrees are damage the readers report; walk each once
                var node = ctx.Node(id, PageKind.Branch);
                int count = node.Count;
                for (int i = 0; i < count; i++)
                {
                    long child = node.ChildAt(i);
                    if (pool.Contains(child)) Corrupt.Throw(child, $"page is marked free but is a child of page {id}");
                    if (depth + 1 < tree.Depth) next.Add(child);
                }
            }
            level = next;
        }
    }
}
