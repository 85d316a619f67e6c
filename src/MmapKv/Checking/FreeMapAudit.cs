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
        // One walker for every tree, branches only: a node's id is in its parent, so the leaves need not be read.
        var walker = new TreeWalker(ctx);
        var visitor = new NotFree(pool);
        Check(walker, visitor, meta.Main, pool);
        Check(walker, visitor, meta.Catalog, pool);
        foreach (var entry in new TreeCatalog(ctx, meta.Catalog, maxKeySize)) Check(walker, visitor, entry.Descriptor, pool);
        CheckSavepoints(ctx, meta, maxKeySize, pool, walker, visitor);
    }

    /// <summary>
    /// The states persistent savepoints keep (docs/format.md §13) must not be free either: a restore would bring them
    /// back. The same walker goes on, so what they share with the current state is not read again.
    /// </summary>
    private static void CheckSavepoints(PageContext ctx, in MetaRecord meta, int maxKeySize, FreePageSet pool, TreeWalker walker, NotFree visitor)
    {
        if (!meta.HasSavepoints) return;
        for (long p = meta.SavepointTable; p < meta.SavepointTable + meta.SavepointTablePages; p++)
            if (pool.Contains(p)) Corrupt.Throw(p, "a page of the savepoint table is marked free");
        var records = new List<SavepointRecord>();
        Transactions.PersistentSavepoints.Load(ctx, meta, records);
        foreach (var r in records)
        {
            Check(walker, visitor, r.Main, pool);
            Check(walker, visitor, r.Catalog, pool);
            foreach (var entry in new TreeCatalog(ctx, r.Catalog, maxKeySize)) Check(walker, visitor, entry.Descriptor, pool);
        }
    }

    private static void Check(TreeWalker walker, NotFree visitor, in TreeDescriptor tree, FreePageSet pool)
    {
        if (tree.IsEmpty) return;
        if (pool.Contains(tree.Root)) Corrupt.Throw(tree.Root, "a tree root is marked free");
        walker.Walk(tree, visitor, readLeaves: false);
    }

    private sealed class NotFree(FreePageSet pool) : ITreeVisitor
    {
        public void Node(Node node, int level, KeyBounds bounds)
        {
            int count = node.Count;
            for (int i = 0; i < count; i++)
            {
                long child = node.ChildAt(i);
                if (pool.Contains(child)) Corrupt.Throw(child, $"page is marked free but is a child of page {node.Id}");
            }
        }

        public void OverflowRun(long first, long runPages, long leaf) { } // leaves are not read here

        // A shared subtree is damage that the readers and the checker report where it matters; this audit only
        // needs every node id once, which the walker's repeat rule already gives.
        public void Repeated(long pageId, long fromPageId, string reason) { }
    }
}
