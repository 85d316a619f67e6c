using System.Text;
using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Fuzz;

/// <summary>Where a node page sits in its tree, so mutations can aim at parents, ancestors and siblings.</summary>
internal sealed record NodePage(long Id, PageKind Kind, int Level, long Parent, string Tree, long Root);

internal sealed record OverflowRun(long First, long Pages, long Leaf);

/// <summary>
/// A seed file and the layout of its active state: page size, page count, meta slot, and every node page,
/// overflow run and free-map page, found by walking the seed with the engine's own bounds-checked readers.
/// </summary>
internal sealed unsafe class SeedInfo
{
    public required string Name { get; init; }
    public required byte[] Bytes { get; init; }
    public int PageSize { get; private set; } = 4096;
    public long PageCount { get; private set; } = 2;
    public int ActiveSlot { get; private set; }
    public long TxnId { get; private set; }
    public List<NodePage> Nodes { get; } = new();
    public List<OverflowRun> Runs { get; } = new();
    public long FreeMapDirectory { get; private set; }
    public long FreeMapDirectoryPages { get; private set; }
    public List<long> Bitmaps { get; } = new();
    public HashSet<long> Reachable { get; } = new();
    public Dictionary<long, NodePage> ById { get; } = new();
    /// <summary>Roots of every tree, by name ("" default, "$catalog").</summary>
    public Dictionary<string, long> Roots { get; } = new(StringComparer.Ordinal);

    public static SeedInfo Parse(string name, byte[] bytes)
    {
        var s = new SeedInfo { Name = name, Bytes = bytes };
        fixed (byte* p = bytes)
        {
            var slot0 = bytes.Length >= MetaPage.Size ? MetaPage.TryRead(p, bytes.Length, out _, out _) : null;
            MetaRecord? slot1 = null;
            if (slot0 is { } s0 && bytes.Length >= s0.PageSize + MetaPage.Size)
                slot1 = MetaPage.TryRead(p + s0.PageSize, bytes.Length, out _, out _);
            if (slot0 is null) return s; // a seed that does not open: only raw mutations make sense
            var meta = slot1 is { } s1 && s1.TxnId > slot0.Value.TxnId ? s1 : slot0.Value;
            s.ActiveSlot = slot1 is { } t1 && t1.TxnId > slot0.Value.TxnId ? 1 : 0;
            s.PageSize = meta.PageSize;
            s.PageCount = meta.PageCount;
            s.TxnId = meta.TxnId;
            var ctx = new PageContext(p, meta.PageSize, meta.PageCount);
            var visited = new HashSet<long>();
            s.Walk(ctx, visited, "", meta.Main);
            s.Walk(ctx, visited, "$catalog", meta.Catalog);
            // Named trees: the catalog's values are descriptors.
            var path = new CursorPath();
            try
            {
                for (bool ok = path.First(ctx, meta.Catalog); ok; ok = path.Next(ctx))
                {
                    var leaf = path.Leaf(ctx, out int i);
                    string tree = Encoding.UTF8.GetString(leaf.KeyAt(i));
                    var value = leaf.ValueAt(i, ctx);
                    if (value.Length == TreeDescriptor.Size) s.Walk(ctx, visited, tree, TreeDescriptor.Read(value));
                }
            }
            catch (CorruptDatabaseException) { }
            s.FreeMapDirectory = meta.FreeMapPage;
            s.FreeMapDirectoryPages = meta.FreeMapPages;
            try { s.Bitmaps.AddRange(FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages).Bitmaps); }
            catch (CorruptDatabaseException) { }
        }
        return s;
    }

    private void Walk(PageContext ctx, HashSet<long> visited, string tree, in TreeDescriptor desc)
    {
        if (desc.Root == 0 || desc.Validate(ctx.PageCount) is not null) return;
        Roots[tree] = desc.Root;
        try { Visit(ctx, visited, tree, desc.Root, desc.Root, 0, desc.Depth, 0); }
        catch (CorruptDatabaseException) { }
    }

    private void Visit(PageContext ctx, HashSet<long> visited, string tree, long root, long id, int level, int depth, long parent)
    {
        if (!visited.Add(id)) return;
        bool leaf = level == depth - 1;
        var node = ctx.Node(id, leaf ? PageKind.Leaf : PageKind.Branch);
        var info = new NodePage(id, leaf ? PageKind.Leaf : PageKind.Branch, level, parent, tree, root);
        Nodes.Add(info);
        ById[id] = info;
        Reachable.Add(id);
        for (int i = 0; i < node.Count; i++)
        {
            if (leaf)
            {
                long first = node.OverflowPageAt(i, out uint length);
                if (first == 0) continue;
                long pages = NodeLayout.OverflowRunPages(ctx.PageSize, length);
                Runs.Add(new OverflowRun(first, pages, id));
                for (long j = 0; j < pages; j++) Reachable.Add(first + j);
            }
            else Visit(ctx, visited, tree, root, node.ChildAt(i), level + 1, depth, id);
        }
    }

    /// <summary>The ancestors of a node page, nearest first.</summary>
    public IEnumerable<long> Ancestors(long id)
    {
        int guard = 0;
        while (ById.TryGetValue(id, out var n) && n.Parent != 0 && guard++ < 64)
        {
            yield return n.Parent;
            id = n.Parent;
        }
    }
}
