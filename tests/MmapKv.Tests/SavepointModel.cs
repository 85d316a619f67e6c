using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The model of the persistent-savepoint tests: every tree as a sorted dictionary, and random write transactions
/// applied to a database and to the model alike.
/// </summary>
internal sealed class SavepointModel
{
    public Dictionary<string, SortedDictionary<byte[], byte[]>> Trees = new() { [""] = NewTree() };

    public static SortedDictionary<byte[], byte[]> NewTree() => new(ByteComparer.Instance);

    public SavepointModel Copy()
    {
        var m = new SavepointModel { Trees = new() };
        foreach (var (name, t) in Trees) m.Trees[name] = new SortedDictionary<byte[], byte[]>(t, ByteComparer.Instance);
        return m;
    }

    /// <summary>The model in the shape of <see cref="PersistentSavepointTests.Snapshot"/>.</summary>
    public SortedDictionary<string, List<string>> Expected()
    {
        var all = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, t) in Trees)
            all[name.Length == 0 ? "" : "tree:" + name] = t.Select(p => PersistentSavepointTests.Entry(p.Key, p.Value)).ToList();
        return all;
    }

    private static readonly string[] TreeNames = ["", "a", "b"];

    /// <summary>One write transaction of random puts (some with overflow values), deletes and tree drops; committed, or aborted.</summary>
    /// <param name="db">The database.</param>
    /// <param name="model">The model; replaced by the committed state when the transaction commits.</param>
    /// <param name="rng">The randomness.</param>
    /// <param name="beforeCommit">Called with the state about to be committed and its durability, just before the commit.</param>
    public static string Write(KvDatabase db, SavepointModel model, Random rng, Action<SavepointModel, Durability>? beforeCommit = null)
    {
        var staged = model.Copy();
        int n = rng.Next(1, rng.Next(4) == 0 ? 400 : 40);
        using var tx = db.BeginWrite();
        for (int i = 0; i < n; i++)
        {
            string name = TreeNames[rng.Next(TreeNames.Length)];
            if (name.Length > 0 && rng.Next(60) == 0)
            {
                tx.DeleteTree(name);
                staged.Trees.Remove(name);
                continue;
            }
            var tree = name.Length == 0 ? null : tx.OpenTree(name);
            if (!staged.Trees.TryGetValue(name, out var t)) staged.Trees[name] = t = NewTree();
            byte[] key = Bytes.Of($"k{rng.Next(600):D4}");
            if (rng.Next(4) == 0)
            {
                bool had = t.Remove(key);
                Assert.Equal(had, tree is null ? tx.Delete(key) : tree.Delete(key));
            }
            else
            {
                int size = rng.Next(20) == 0 ? rng.Next(3000, 20000) : rng.Next(0, 200);
                byte[] value = TestData.Value(rng.Next(), size);
                t[key] = value;
                if (tree is null) tx.Put(key, value); else tree.Put(key, value);
            }
        }
        if (rng.Next(8) == 0) return $"abort {n}"; // disposed without commit
        var durability = rng.Next(3) == 0 ? Durability.Immediate : Durability.Deferred;
        beforeCommit?.Invoke(staged, durability);
        tx.Commit(durability);
        model.Trees = staged.Trees;
        return $"commit {n}";
    }
}
