using MmapKv.Simulation;

namespace MmapKv.Tests;

/// <summary>
/// What <see cref="ModelHarness"/> expects a database (or a write transaction) to hold: each existing plain tree by
/// index, its entries sorted in the tree's own order, and the multimap tree (null when it does not exist) as sorted
/// value sets per key, both bytewise.
/// </summary>
internal sealed class ModelState
{
    public static readonly string[] TreeNames = CrashRunner.PlainTreeNames;
    public const string MultiName = CrashRunner.MultiTreeName;

    public Dictionary<int, SortedDictionary<byte[], byte[]>> Plain { get; } = new();
    public SortedDictionary<byte[], SortedSet<byte[]>>? Multi { get; set; }

    public static ModelState Empty()
    {
        var m = new ModelState();
        m.Plain[0] = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
        return m;
    }

    public static KeyOrder OrderOf(int tree) => CrashRunner.OrderOf(tree);

    public static IComparer<byte[]> ComparerOf(int tree) => KeyOrders.Of(OrderOf(tree));

    /// <summary>The plain tree's model, created (empty) if it does not exist yet, as opening the tree creates it.</summary>
    public SortedDictionary<byte[], byte[]> Tree(int tree)
    {
        if (!Plain.TryGetValue(tree, out var model)) Plain[tree] = model = new(ComparerOf(tree));
        return model;
    }

    public SortedDictionary<byte[], SortedSet<byte[]>> MultiTree() => Multi ??= new(ByteComparer.Instance);

    /// <summary>The named trees that exist, in the order <c>GetTreeNames</c> lists them.</summary>
    public IEnumerable<string> Names() =>
        Plain.Keys.Where(t => t != 0).Select(t => TreeNames[t]).Concat(Multi is null ? [] : [MultiName]).OrderBy(n => n, StringComparer.Ordinal);

    public ModelState Copy()
    {
        var c = new ModelState();
        foreach (var (tree, model) in Plain) c.Plain[tree] = new SortedDictionary<byte[], byte[]>(model, model.Comparer);
        if (Multi is not null)
        {
            c.Multi = new(ByteComparer.Instance);
            foreach (var (key, set) in Multi) c.Multi[key] = new SortedSet<byte[]>(set, ByteComparer.Instance);
        }
        return c;
    }
}
