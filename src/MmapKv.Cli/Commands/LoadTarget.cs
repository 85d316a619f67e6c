using MmapKv.Cli.Lmdb;

namespace MmapKv.Cli.Commands;

/// <summary>
/// Where <c>load</c> puts one section's pairs: the default tree, a plain named tree of the section's key order, or,
/// for a duplicate-key (dupsort) section, a multimap tree. <see cref="Open"/> checks the section against the tree
/// it goes to, so an input that cannot be loaded as described fails before any of its data is read.
/// </summary>
/// <remarks>
/// A section that states its key order (<c>mmapkv_keyorder=</c>, <see cref="DumpKeyOrder"/>) creates the tree with
/// it, and an existing tree must already have it. A section that states none (LMDB's dumps, bytewise trees)
/// creates a bytewise tree, and loads into an existing plain tree of any built-in order: the keys are bytes either
/// way. A tree's kind must match the section's: a dupsort section goes to a multimap tree, any other to a plain one.
/// </remarks>
internal abstract class LoadTarget
{
    /// <summary>Whether this is a multimap tree (the counts are of pairs).</summary>
    public abstract bool IsMultimap { get; }

    /// <summary>
    /// Adds one pair read from <paramref name="line"/> (the key's line). Returns false when it was not written: the
    /// key exists and <paramref name="noOverwrite"/> is set, or the multimap tree holds the pair already.
    /// </summary>
    public abstract bool Add(byte[] key, byte[] value, bool noOverwrite, long line);

    /// <summary>Opens (or creates) the tree <paramref name="name"/> (null: the default tree) for <paramref name="section"/>.</summary>
    public static LoadTarget Open(WriteTransaction tx, string? name, DumpSection section, int maxKeySize)
    {
        string at = $"input line {section.HeaderLine}: {section.Describe()}";
        if (section.Order == KeyOrder.Custom)
            throw new UsageException($"{at} is a tree ordered by an application's own comparer ({DumpKeyOrder.HeaderKey}=Custom); " +
                "such a tree can only be created through the library, with that comparer, which mmapkv does not have");
        if (name is null)
        {
            if (section.Multimap)
                throw new UsageException($"{at} is a duplicate-key (dupsort) database, and the default tree holds one value per key; " +
                    "load it into a multimap tree with --tree NAME");
            if (section.Order is { } o && o != KeyOrder.Bytewise)
                throw new UsageException($"{at} is ordered {o}, and the default tree is always ordered bytewise; load it into a named tree with --tree NAME");
            return new Plain(tx, null, KeyOrder.Bytewise, maxKeySize);
        }
        if (section.Multimap)
        {
            if (tx.IsMultiTree(name)) return new Multi(tx.OpenMultiTree(name), maxKeySize);
            if (tx.TryOpenTree(name, out _))
                throw new UsageException($"{at} is a duplicate-key (dupsort) database, but tree '{name}' exists as a plain tree, which holds one value per key");
            return new Multi(tx.OpenMultiTree(name), maxKeySize);
        }
        if (tx.IsMultiTree(name))
            throw new UsageException($"{at} holds one value per key, but tree '{name}' is a multimap tree; a multimap tree loads from a duplicate-key (dupsort) section");
        if (tx.TryOpenTree(name, out var existing))
        {
            if (existing.KeyOrder == KeyOrder.Custom)
                throw new UsageException($"{at}: tree '{name}' is ordered by an application's own comparer, so mmapkv cannot write it");
            if (section.Order is { } stated && stated != existing.KeyOrder)
                throw new UsageException($"{at} is ordered {stated} ({DumpKeyOrder.HeaderKey}), but tree '{name}' exists ordered {existing.KeyOrder}; a tree keeps its order");
            return new Plain(tx, existing, existing.KeyOrder, maxKeySize);
        }
        var order = section.Order ?? KeyOrder.Bytewise;
        return new Plain(tx, tx.OpenTree(name, order), order, maxKeySize);
    }

    private static void CheckKey(byte[] key, int maxKeySize, long line)
    {
        if (key.Length == 0 || key.Length > maxKeySize)
            throw new UsageException($"input line {line}: the key is {key.Length} bytes; keys must be 1 to {maxKeySize} bytes");
    }

    /// <summary>The default tree (<c>Tree</c> null) or a plain named tree.</summary>
    private sealed class Plain(WriteTransaction tx, KvTree? tree, KeyOrder order, int maxKeySize) : LoadTarget
    {
        public override bool IsMultimap => false;

        public override bool Add(byte[] key, byte[] value, bool noOverwrite, long line)
        {
            CheckKey(key, maxKeySize, line);
            if (order is KeyOrder.Int64 or KeyOrder.UInt64 && key.Length != 8)
                throw new UsageException($"input line {line}: the key is {key.Length} bytes, and tree '{tree!.Name}' is ordered {order}, whose keys are 8 bytes");
            if (noOverwrite && (tree is null ? tx.TryGet(key, out _) : tree.TryGet(key, out _))) return false;
            if (tree is null) tx.Put(key, value);
            else tree.Put(key, value);
            return true;
        }
    }

    /// <summary>A multimap tree: each pair is added to its key's set of values, which never replaces another value,
    /// so <c>--no-overwrite</c> changes nothing; a pair already there is counted as kept.</summary>
    private sealed class Multi(KvMultiTree tree, int maxKeySize) : LoadTarget
    {
        public override bool IsMultimap => true;

        public override bool Add(byte[] key, byte[] value, bool noOverwrite, long line)
        {
            CheckKey(key, maxKeySize, line);
            int max = tree.MaxValueLength(key);
            if (value.Length > max)
            {
                int zeros = key.AsSpan().Count((byte)0);
                throw new UsageException($"input line {line + 1}: the value is {value.Length} bytes, and under this {key.Length}-byte key a multimap tree's " +
                    $"values are at most {Math.Max(max, 0)} bytes (key + {zeros} for its 0x00 bytes + 2 + value must be at most {maxKeySize})");
            }
            return tree.Add(key, value);
        }
    }
}
