namespace MmapKv.Simulation;

/// <summary>Bytewise order, shorter first on a common prefix: the order MmapKv keeps keys in.</summary>
public sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

/// <summary>The full contents of a database: tree name ("" for the default tree) to its sorted entries.</summary>
public sealed class StateModel
{
    public SortedDictionary<string, SortedDictionary<byte[], byte[]>> Trees { get; } = new(StringComparer.Ordinal);

    public StateModel() => Trees[""] = new(ByteOrder.Instance);

    public StateModel Clone()
    {
        var c = new StateModel();
        c.Trees.Clear();
        foreach (var (name, t) in Trees) c.Trees[name] = new SortedDictionary<byte[], byte[]>(t, ByteOrder.Instance);
        return c;
    }

    public SortedDictionary<byte[], byte[]> Tree(string name)
    {
        if (!Trees.TryGetValue(name, out var t)) Trees[name] = t = new(ByteOrder.Instance);
        return t;
    }

    /// <summary>Reads everything a transaction sees.</summary>
    public static StateModel Read(KvTransaction tx)
    {
        var m = new StateModel();
        ReadTree(tx.OpenCursor(), m.Trees[""]);
        foreach (string name in tx.GetTreeNames()) ReadTree(tx.OpenTree(name).OpenCursor(), m.Tree(name));
        return m;
    }

    private static void ReadTree(KvCursor c, SortedDictionary<byte[], byte[]> into)
    {
        using (c)
            for (bool ok = c.First(); ok; ok = c.Next()) into[c.Key.ToArray()] = c.Value.ToArray();
    }

    public bool SameAs(StateModel other)
    {
        if (!Trees.Keys.SequenceEqual(other.Trees.Keys)) return false;
        foreach (var (name, t) in Trees)
        {
            var o = other.Trees[name];
            if (t.Count != o.Count) return false;
            foreach (var ((k1, v1), (k2, v2)) in t.Zip(o))
                if (!k1.AsSpan().SequenceEqual(k2) || !v1.AsSpan().SequenceEqual(v2)) return false;
        }
        return true;
    }

    public override string ToString() =>
        string.Join("; ", Trees.Select(t => $"'{t.Key}': {t.Value.Count} entries"));
}
