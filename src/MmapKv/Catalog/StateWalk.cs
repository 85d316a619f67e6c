using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Catalog;

/// <summary>
/// Walks every tree of one committed state: the default tree, the catalog tree and each named tree the catalog lists,
/// with one <see cref="TreeWalker"/> (so each page once). The current state and the states persistent savepoints
/// captured (docs/format.md §13) are walked alike.
/// </summary>
internal static class StateWalk
{
    /// <summary>Visits the pages of the state whose default and catalog trees are <paramref name="main"/> and <paramref name="catalog"/>.</summary>
    /// <param name="ctx">The page view; every page of the state must be intact in it (a reader or a savepoint holds them).</param>
    /// <param name="main">The state's default tree.</param>
    /// <param name="catalog">The state's catalog tree.</param>
    /// <param name="maxKeySize">The longest tree name.</param>
    /// <param name="visitor">What each visit does.</param>
    /// <param name="enter">As <see cref="TreeWalker.Walk"/>: pages it refuses are skipped with everything below them.
    /// The catalog is read whole either way, so a skipped catalog page still yields its trees, whose roots are
    /// offered to <paramref name="enter"/> too.</param>
    /// <exception cref="CorruptDatabaseException">A page or catalog entry on the way is damaged.</exception>
    public static void Walk(PageContext ctx, in TreeDescriptor main, in TreeDescriptor catalog, int maxKeySize,
        ITreeVisitor visitor, Func<long, bool>? enter = null)
    {
        var walker = new TreeWalker(ctx);
        walker.Walk(main, visitor, enter: enter);
        walker.Walk(catalog, visitor, enter: enter);
        foreach (var entry in new TreeCatalog(ctx, catalog, maxKeySize)) walker.Walk(entry.Descriptor, visitor, enter: enter);
    }
}
