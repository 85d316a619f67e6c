using System.Diagnostics.CodeAnalysis;

namespace MmapKv;

/// <summary>
/// Opens multimap trees (<see cref="KvMultiTree"/>): <c>tx.OpenMultiTree(name)</c>. A multimap tree is a named tree
/// marked as one in its descriptor (docs/format.md §5.1), so <c>OpenTree</c> on it, or <c>OpenMultiTree</c> on a
/// plain tree, is an <see cref="InvalidOperationException"/> naming the right method. Deleting one is
/// <see cref="WriteTransaction.DeleteTree"/>, and <see cref="KvTransaction.GetTreeNames()"/> lists both kinds.
/// </summary>
public static class MultiTreeExtensions
{
    /// <summary>Opens the named multimap tree, creating it (empty) if no tree has that name.</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ArgumentException">The name cannot be a tree name.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvMultiTree OpenMultiTree(this WriteTransaction tx, string name)
    {
        ArgumentNullException.ThrowIfNull(tx);
        return new KvMultiTree(tx, tx.OpenOrCreate(name, multimap: true), 0);
    }

    /// <summary>Opens the named multimap tree if it exists (in a write transaction, also if created in it).</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenMultiTree(this KvTransaction tx, string name, [NotNullWhen(true)] out KvMultiTree? tree)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var state = tx.FindTree(0, name, multimap: true);
        tree = state is null ? null : new KvMultiTree(tx, state, 0);
        return tree is not null;
    }

    /// <summary>Opens an existing multimap tree.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    /// <exception cref="InvalidOperationException">The tree is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvMultiTree OpenMultiTree(this ReadTransaction tx, string name) =>
        tx.TryOpenMultiTree(name, out var tree) ? tree : throw new KeyNotFoundException($"No tree named '{name}' exists.");

    /// <summary>Opens the named multimap tree if it exists.</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenMultiTree(this ReadTransaction tx, string name, [NotNullWhen(true)] out KvMultiTree? tree)
    {
        var (state, generation) = tx.Handle;
        var found = state.FindTree(generation, name, multimap: true);
        tree = found is null ? null : new KvMultiTree(state, found, generation);
        return tree is not null;
    }

    /// <summary>Whether the named tree exists and is a multimap tree (false for a plain tree or no tree).</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool IsMultiTree(this KvTransaction tx, string name)
    {
        ArgumentNullException.ThrowIfNull(tx);
        return tx.FindTree(0, name, multimap: null) is { Desc.IsMultimap: true };
    }

    /// <inheritdoc cref="IsMultiTree(KvTransaction, string)"/>
    public static bool IsMultiTree(this ReadTransaction tx, string name)
    {
        var (state, generation) = tx.Handle;
        return state.FindTree(generation, name, multimap: null) is { Desc.IsMultimap: true };
    }
}
