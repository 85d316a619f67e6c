using System.Buffers.Binary;

namespace MmapKv.Simulation;

/// <summary>Bytewise order, shorter first on a common prefix: the order MmapKv keeps keys in.</summary>
public sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

/// <summary>The model's comparer for each built-in <see cref="KeyOrder"/> (docs/design.md §16): bytewise, its
/// reverse, and numeric order of 8-byte little-endian signed or unsigned integers.</summary>
public static class KeyOrders
{
    private static readonly IComparer<byte[]> ReverseOrder = Comparer<byte[]>.Create((a, b) => ByteOrder.Instance.Compare(b, a));
    private static readonly IComparer<byte[]> Int64Order = Comparer<byte[]>.Create((a, b) =>
        BinaryPrimitives.ReadInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt64LittleEndian(b)));
    private static readonly IComparer<byte[]> UInt64Order = Comparer<byte[]>.Create((a, b) =>
        BinaryPrimitives.ReadUInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt64LittleEndian(b)));

    public static IComparer<byte[]> Of(KeyOrder order) => order switch
    {
        KeyOrder.Bytewise => ByteOrder.Instance,
        KeyOrder.Reverse => ReverseOrder,
        KeyOrder.Int64 => Int64Order,
        KeyOrder.UInt64 => UInt64Order,
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "The model knows the built-in orders only."),
    };
}

/// <summary>
/// The full contents of a database: tree name ("" for the default tree) to its sorted entries, and each multimap
/// tree's name to its keys' value sets. Contents are kept bytewise whatever a tree's order; <see cref="Read(ReadTransaction)"/>
/// checks that each tree hands its keys out in its own order.
/// </summary>
public sealed class StateModel
{
    public SortedDictionary<string, SortedDictionary<byte[], byte[]>> Trees { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, SortedDictionary<byte[], SortedSet<byte[]>>> MultiTrees { get; } = new(StringComparer.Ordinal);

    public StateModel() => Trees[""] = new(ByteOrder.Instance);

    public StateModel Clone()
    {
        var c = new StateModel();
        c.Trees.Clear();
        foreach (var (name, t) in Trees) c.Trees[name] = new SortedDictionary<byte[], byte[]>(t, ByteOrder.Instance);
        foreach (var (name, m) in MultiTrees)
        {
            var copy = c.MultiTree(name);
            foreach (var (k, set) in m) copy[k] = new SortedSet<byte[]>(set, ByteOrder.Instance);
        }
        return c;
    }

    public SortedDictionary<byte[], byte[]> Tree(string name)
    {
        if (!Trees.TryGetValue(name, out var t)) Trees[name] = t = new(ByteOrder.Instance);
        return t;
    }

    public SortedDictionary<byte[], SortedSet<byte[]>> MultiTree(string name)
    {
        if (!MultiTrees.TryGetValue(name, out var m)) MultiTrees[name] = m = new(ByteOrder.Instance);
        return m;
    }

    /// <summary>Removes the named tree of either kind; whether it existed.</summary>
    public bool RemoveTree(string name) => Trees.Remove(name) | MultiTrees.Remove(name);

    /// <summary>Reads everything a transaction sees.</summary>
    public static StateModel Read(ReadTransaction tx)
    {
        var m = new StateModel();
        ReadTree(tx.OpenCursor(), m.Trees[""], "", KeyOrder.Bytewise);
        foreach (string name in tx.GetTreeNames())
        {
            if (tx.IsMultiTree(name)) ReadMulti(tx.OpenMultiTree(name), m.MultiTree(name));
            else
            {
                var t = tx.OpenTree(name);
                ReadTree(t.OpenCursor(), m.Tree(name), name, t.KeyOrder);
            }
        }
        return m;
    }

    /// <summary>Reads everything a write transaction sees, its own writes included.</summary>
    public static StateModel Read(WriteTransaction tx)
    {
        var m = new StateModel();
        ReadTree(tx.OpenCursor(), m.Trees[""], "", KeyOrder.Bytewise);
        foreach (string name in tx.GetTreeNames())
        {
            if (tx.IsMultiTree(name)) ReadMulti(tx.OpenMultiTree(name), m.MultiTree(name));
            else
            {
                var t = tx.OpenTree(name);
                ReadTree(t.OpenCursor(), m.Tree(name), name, t.KeyOrder);
            }
        }
        return m;
    }

    private static void ReadTree(KvCursor c, SortedDictionary<byte[], byte[]> into, string name, KeyOrder order)
    {
        var comparer = KeyOrders.Of(order);
        byte[]? previous = null;
        using (c)
            for (bool ok = c.First(); ok; ok = c.Next())
            {
                var key = c.Key.ToArray();
                if (previous is not null && comparer.Compare(previous, key) >= 0)
                    throw new InvariantViolation($"tree '{name}' hands out its keys out of its {order} order");
                into[key] = c.Value.ToArray();
                previous = key;
            }
    }

    /// <summary>Reads a multimap tree by its full scan, checking the scan's order and the tree's two counts.</summary>
    private static void ReadMulti(KvMultiTree tree, SortedDictionary<byte[], SortedSet<byte[]>> into)
    {
        byte[]? lastKey = null, lastValue = null;
        long pairs = 0;
        foreach (var e in tree.Scan())
        {
            byte[] key = e.Key.ToArray(), value = e.Value.ToArray();
            int byKey = lastKey is null ? 1 : ByteOrder.Instance.Compare(lastKey, key);
            if (lastKey is not null && (byKey > 0 || byKey == 0 && ByteOrder.Instance.Compare(lastValue, value) >= 0))
                throw new InvariantViolation($"multimap tree '{tree.Name}' scans its pairs out of key-then-value order");
            if (!into.TryGetValue(key, out var set)) into[key] = set = new SortedSet<byte[]>(ByteOrder.Instance);
            set.Add(value);
            lastKey = key;
            lastValue = value;
            pairs++;
        }
        if (tree.KeyCount != into.Count || tree.ValueCount != pairs)
            throw new InvariantViolation($"multimap tree '{tree.Name}' counts {tree.KeyCount} keys and {tree.ValueCount} values; its scan holds {into.Count} and {pairs}");
    }

    public bool SameAs(StateModel other)
    {
        if (!Trees.Keys.SequenceEqual(other.Trees.Keys) || !MultiTrees.Keys.SequenceEqual(other.MultiTrees.Keys)) return false;
        foreach (var (name, t) in Trees)
        {
            var o = other.Trees[name];
            if (t.Count != o.Count) return false;
            foreach (var ((k1, v1), (k2, v2)) in t.Zip(o))
                if (!k1.AsSpan().SequenceEqual(k2) || !v1.AsSpan().SequenceEqual(v2)) return false;
        }
        foreach (var (name, m) in MultiTrees)
        {
            var o = other.MultiTrees[name];
            if (m.Count != o.Count) return false;
            foreach (var ((k1, s1), (k2, s2)) in m.Zip(o))
            {
                if (!k1.AsSpan().SequenceEqual(k2) || s1.Count != s2.Count) return false;
                foreach (var (a, b) in s1.Zip(s2))
                    if (!a.AsSpan().SequenceEqual(b)) return false;
            }
        }
        return true;
    }

    public override string ToString() =>
        string.Join("; ", Trees.Select(t => $"'{t.Key}': {t.Value.Count} entries")
            .Concat(MultiTrees.Select(m => $"'{m.Key}' (multimap): {m.Value.Count} keys, {m.Value.Sum(s => s.Value.Count)} values")));
}
