using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Checking;

/// <summary>
/// The full integrity check of one snapshot (docs/format.md §9). It visits every reachable page once, verifying
/// checksums, headers, key order and separator bounds, then the free map, and finally that every page below the
/// high-water mark is accounted for exactly once: reachable, free, or part of the free map itself. It reports problems
/// instead of throwing, and reads only through bounds-checked accessors, so a damaged file cannot crash it.
/// </summary>
internal sealed unsafe class DatabaseChecker
{
    private readonly PageContext _ctx;
    private readonly CheckReport _report;
    private readonly byte[] _owner; // per page: 0 unseen, 1 tree, 2 free, 3 free map, 4 savepoint table, 5 only a savepoint's state
    private readonly int _maxKey;

    private DatabaseChecker(PageContext ctx, CheckReport report, int maxKey)
    {
        _ctx = ctx;
        _report = report;
        _maxKey = maxKey;
        _owner = new byte[ctx.PageCount];
    }

    /// <summary>Checks the snapshot <paramref name="meta"/> describes, read through <paramref name="ctx"/>.</summary>
    /// <param name="ctx">The snapshot's page view; its pages must not change while this runs (a reader holds them, R1).</param>
    /// <param name="meta">The snapshot's meta record.</param>
    /// <param name="maxKeySize">The longest key the database allows.</param>
    /// <param name="fileLength">The file's length in bytes, to check the meta against.</param>
    public static CheckReport Run(PageContext ctx, in MetaRecord meta, int maxKeySize, long fileLength)
    {
        var report = new CheckReport { TxnId = meta.TxnId, PageCount = meta.PageCount };
        if (meta.Validate(fileLength) is { } problem)
        {
            report.Add("meta: " + problem);
            return report;
        }
        var checker = new DatabaseChecker(ctx, report, maxKeySize);
        // Only named trees have a kind (docs/format.md §5.1): the default and catalog trees are plain.
        if (meta.Main.Flags != 0 || meta.Catalog.Flags != 0) report.Add("meta: the default or catalog tree descriptor has flags set");
        checker.CheckTree("default tree", meta.Main);
        checker.CheckTree("catalog", meta.Catalog, countsEntries: false);
        checker.CheckNamedTrees(meta.Catalog);
        checker.CheckSavepoints(meta);
        checker.CheckFreeMap(meta.FreeMapPage, meta.FreeMapPages);
        checker.CheckAccounting();
        return report;
    }

    private bool _walkFailed;
    private TreeWalker? _walker; // one for every tree, so a page shared between trees is reported too

    /// <summary>Checks one tree's descriptor and pages; returns whether its walk completed (so its entries can be read).</summary>
    private bool CheckTree(string name, in TreeDescriptor desc, bool countsEntries = true)
    {
        if (desc.Validate(_ctx.PageCount) is { } problem) { _report.Add($"{name}: {problem}"); return false; }
        if (desc.IsEmpty) return true;
        // A custom order's comparer belongs to the application: such a tree's keys are checked without their order.
        var tree = new TreeCheck(this, name, desc.Order, checksOrder: desc.Order is not KeyComparer.UnboundCustom);
        try
        {
            (_walker ??= new TreeWalker(_ctx)).Walk(desc, tree);
        }
        catch (CorruptDatabaseException e)
        {
            _report.Add($"{name}: {e.Message}");
            _walkFailed = true;
            return false;
        }
        var counts = tree.Counts;
        if (counts.Entries != desc.Entries) _report.Add($"{name}: descriptor says {desc.Entries} entries, found {counts.Entries}");
        if (counts.BranchPages != desc.BranchPages) _report.Add($"{name}: descriptor says {desc.BranchPages} branch pages, found {counts.BranchPages}");
        if (counts.LeafPages != desc.LeafPages) _report.Add($"{name}: descriptor says {desc.LeafPages} leaf pages, found {counts.LeafPages}");
        if (counts.OverflowPages != desc.OverflowPages) _report.Add($"{name}: descriptor says {desc.OverflowPages} overflow pages, found {counts.OverflowPages}");
        if (countsEntries) _report.Entries += counts.Entries; // the catalog's entries are tree names, not data
        return true;
    }

    /// <summary>
    /// The checks of one tree, run on each page the walker reaches: ownership, header and checksum, counts, and
    /// key order within the page and against the separators above it (T2, T3). It reports and carries on; what
    /// the walker cannot read (a page out of range, of the wrong kind, with a bad header) ends this tree's walk.
    /// </summary>
    private sealed class TreeCheck(DatabaseChecker c, string tree, KeyComparer? order, bool checksOrder,
        byte owner = 1, long newestTxn = -1) : ITreeVisitor
    {
        public TreeDescriptor Counts;

        public void Node(Node node, int level, KeyBounds bounds)
        {
            long id = node.Id;
            bool leaf = node.IsLeaf;
            c.Claim(id, 1, owner, $"{tree}: page {id}");
            c.VerifyHeader(tree, id, node.P, 1, newestTxn);
            if (leaf) Counts.LeafPages++; else Counts.BranchPages++;
            int count = node.Count;
            ReadOnlySpan<byte> prev = default;
            for (int i = 0; i < count; i++)
            {
                var key = node.KeyAt(i);
                if (node.HintAt(i) != NodeLayout.Hint(key)) c._report.Add($"{tree}: page {id} slot {i}: hint does not match the key");
                if (!leaf && i == 0)
                {
                    if (key.Length != 0) c._report.Add($"{tree}: page {id}: first branch entry has a non-empty key");
                }
                else
                {
                    if (key.Length == 0 || key.Length > c._maxKey) c._report.Add($"{tree}: page {id} slot {i}: key length {key.Length} is out of range");
                    if (order is { Order: KeyOrder.Int64 or KeyOrder.UInt64 } && key.Length != sizeof(long))
                        c._report.Add($"{tree}: page {id} slot {i}: key of {key.Length} bytes in a tree ordered {order.Order} (8 bytes each)");
                    if (checksOrder)
                    {
                        if (i > (leaf ? 0 : 1) && Compare(prev, key) >= 0) c._report.Add($"{tree}: page {id} slot {i}: keys out of order");
                        if (bounds.HasLower && Compare(key, bounds.Lower) < 0) c._report.Add($"{tree}: page {id} slot {i}: key below its separator");
                        if (bounds.HasUpper && Compare(key, bounds.Upper) >= 0) c._report.Add($"{tree}: page {id} slot {i}: key not below the next separator");
                    }
                    prev = key;
                }
                if (!leaf) continue;
                Counts.Entries++;
                if (node.OverflowPageAt(i, out _) == 0) _ = node.ValueAt(i, c._ctx); // an inline value lies inside the page
            }
        }

        private int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => order is null ? a.SequenceCompareTo(b) : order.Compare(a, b);

        public void OverflowRun(long first, long runPages, long leaf)
        {
            if (!c.Claim(first, runPages, owner, $"{tree}: overflow run {first}+{runPages} of page {leaf}")) return;
            c.VerifyHeader(tree, first, c._ctx.Page(first), runPages, newestTxn);
            Counts.OverflowPages += runPages;
        }

        public void Repeated(long pageId, long fromPageId, string reason) =>
            c._report.Add(fromPageId == 0 ? $"{tree}: page {pageId}: {reason}" : $"{tree}: page {pageId} (from page {fromPageId}): {reason}");
    }

    // newestTxn: the newest commit that may have written the page: the snapshot's (-1), or a savepoint's (K2).
    private void VerifyHeader(string tree, long id, byte* p, long pages, long newestTxn = -1)
    {
        if (newestTxn < 0) newestTxn = _report.TxnId;
        if (PageHeader.PageId(p) != id) _report.Add($"{tree}: page {id} carries page id {PageHeader.PageId(p)}");
        if (PageHeader.TxnId(p) > newestTxn) _report.Add($"{tree}: page {id} was written by txn {PageHeader.TxnId(p)}, newer than its state ({newestTxn})");
        if (PageHeader.Flags(p) != 0) _report.Add($"{tree}: page {id} has unknown flags");
        uint stored = PageHeader.Checksum(p), actual = Checksum.OfPage(p, pages * _ctx.PageSize);
        if (stored != actual) _report.Add($"{tree}: page {id} checksum mismatch (stored {stored:x8}, computed {actual:x8})");
    }

    /// <summary>Marks pages as owned, reporting ids out of range and pages claimed twice.</summary>
    private bool Claim(long first, long pages, byte owner, string what)
    {
        if (first < MetaPage.Count || first >= _ctx.PageCount || pages > _ctx.PageCount - first)
        {
            _report.Add($"{what}: outside the database (page count {_ctx.PageCount})");
            return false;
        }
        bool ok = true;
        for (long p = first; p < first + pages; p++)
        {
            if (_owner[p] != 0)
            {
                _report.Add($"{what}: page {p} is already {Describe(_owner[p])}");
                ok = false;
            }
            else _owner[p] = owner;
        }
        return ok;
    }

    private static string Describe(byte owner) => owner switch
    {
        1 => "reachable from a tree",
        2 => "marked free",
        4 => "part of the savepoint table",
        5 => "reachable from a savepoint's state",
        _ => "part of the free map",
    };

    /// <summary>
    /// Checks every named tree. A damaged catalog entry is reported and the walk goes on with the next one; a damaged
    /// catalog page ends the walk (the catalog tree's own check reports it too).
    /// </summary>
    private void CheckNamedTrees(in TreeDescriptor catalog)
    {
        var entries = new TreeCatalog(_ctx, catalog, _maxKey).GetEnumerator();
        while (true)
        {
            try
            {
                if (!entries.MoveNext()) return;
            }
            catch (CorruptDatabaseException e)
            {
                _report.Add("catalog: " + e.Message);
                continue;
            }
            string name = $"tree '{entries.Current.Name}'";
            if (CheckTree(name, entries.Current.Descriptor) && entries.Current.Descriptor.IsMultimap)
                MultimapAudit.Run(_ctx, entries.Current.Descriptor, name, _report);
        }
    }

    /// <summary>
    /// The persistent savepoints (docs/format.md §13): the table (K4), and each savepoint's state as a tree is
    /// checked, except the pages already accounted for by the current state or a newer savepoint (a shared subtree is
    /// checked once), and except the descriptor counts, which a partial walk cannot add up. Every page of a
    /// savepoint's state must be written no later than the savepoint (K2).
    /// </summary>
    private void CheckSavepoints(in MetaRecord meta)
    {
        if (!meta.HasSavepoints) return;
        if (!Claim(meta.SavepointTable, meta.SavepointTablePages, 4, $"savepoint table run {meta.SavepointTable}+{meta.SavepointTablePages}")) return;
        var records = new List<SavepointRecord>();
        if (SavepointTableLayout.TryRead(_ctx.Page(meta.SavepointTable), meta, records) is { } problem)
        {
            _report.Add("savepoints: " + problem);
            return;
        }
        _report.Savepoints = records.Count;
        for (int i = records.Count - 1; i >= 0; i--)
        {
            var r = records[i];
            string name = $"savepoint {r.Id}";
            // A page already owned is shared with a state checked before; anything else unseen is this state's own.
            Func<long, bool> unseen = page => (ulong)page >= (ulong)_owner.Length || _owner[page] == 0;
            var walker = new TreeWalker(_ctx); // one per state, so a page shared between two of its trees is reported
            if (!CheckSavepointTree(walker, name + " default tree", r.Main, r.Id, unseen)
                || !CheckSavepointTree(walker, name + " catalog", r.Catalog, r.Id, unseen))
                continue;
            var entries = new TreeCatalog(_ctx, r.Catalog, _maxKey).GetEnumerator();
            try
            {
                while (entries.MoveNext()) CheckSavepointTree(walker, $"{name} tree '{entries.Current.Name}'", entries.Current.Descriptor, r.Id, unseen);
            }
            catch (CorruptDatabaseException e)
            {
                _report.Add($"{name} catalog: {e.Message}");
            }
        }
    }

    private bool CheckSavepointTree(TreeWalker walker, string name, in TreeDescriptor desc, long savepoint, Func<long, bool> unseen)
    {
        if (desc.IsEmpty) return true;
        var tree = new TreeCheck(this, name, desc.Order, checksOrder: desc.Order is not KeyComparer.UnboundCustom, owner: 5, newestTxn: savepoint);
        try
        {
            walker.Walk(desc, tree, enter: unseen);
            return true;
        }
        catch (CorruptDatabaseException e)
        {
            _report.Add($"{name}: {e.Message}");
            _walkFailed = true;
            return false;
        }
    }

    private void CheckFreeMap(long first, long pages)
    {
        if (first == 0) return; // no map: nothing is free, so every page must be reachable
        if (!Claim(first, pages, 3, $"free-map directory run {first}+{pages}")) return;
        try
        {
            VerifyHeader("free map", first, _ctx.Page(first), pages);
            var directory = FreeMap.ReadDirectory(_ctx, first, pages);
            long[] bitmaps = directory.Bitmaps;
            foreach (long id in bitmaps)
                if (Claim(id, 1, 3, $"free-map bitmap page {id}")) VerifyHeader("free map", id, _ctx.Page(id), 1);
            FreeMap.ReadFree(_ctx, directory, (s, l) =>
            {
                Claim(s, l, 2, $"free run {s}+{l}");
                _report.FreePages += l;
            });
            _report.FreeMapPages += pages + bitmaps.Length; // counted apart from the free pages, as GetStats does
        }
        catch (CorruptDatabaseException e)
        {
            _report.Add("free map: " + e.Message);
        }
    }

    private void CheckAccounting()
    {
        long unowned = 0, firstUnowned = -1;
        for (long p = MetaPage.Count; p < _ctx.PageCount; p++)
        {
            if (_owner[p] == 1) _report.ReachablePages++;
            else if (_owner[p] is 4 or 5) _report.SavepointPages++;
            else if (_owner[p] == 0 && unowned++ == 0) firstUnowned = p;
        }
        if (unowned > 0)
            _report.Add(_walkFailed
                ? $"{unowned} page(s) are neither reached nor free, the first being page {firstUnowned}: probably below the damage reported above"
                : $"{unowned} page(s) are neither reachable nor free (leaked), the first being page {firstUnowned}");
    }
}
