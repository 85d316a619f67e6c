using System.Diagnostics.CodeAnalysis;

namespace MmapKv;

/// <summary>
/// Opens multimap trees (<see cref="KvMultiTree"/>): <c>tx.OpenMultiTree(name)</c>. A multimap tree is a named tree
/// marked as one in its descriptor (docs/format.md §5.1), so <c>OpenTree</c> on it, or <c>OpenMultiTree</c> on a
/// plain tree, is an <see cref="InvalidOperationException"/> naming the right method. Deleting one is
/// <see cref="WriteTransaction.DeleteTree"/>, and <see cref="WriteTransaction.GetTreeNames()"/> lists both kinds.
/// </summary>
public static class MultiTreeExtensions
{
    /// <summary>Opens the named multimap tree, creating it (empty) if no tree has that name.</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ArgumentException">The name cannot be a tree name.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvMultiTree OpenMultiTree(this WriteTransaction tx, string name)
    {
        var tree = tx.OpenOrCreate(name, multimap: true);
        var (state, generation) = tx.Handle;
        return new KvMultiTree(state, tree, generation);
    }

    /// <summary>Opens the named multimap tree if it exists (in a write transaction, also if created in it).</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenMultiTree(this WriteTransaction tx, string name, [NotNullWhen(true)] out KvMultiTree? tree) =>
        TryOpen(tx.Handle, name, out tree);

    /// <summary>Opens an existing multimap tree.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    /// <exception cref="InvalidOperationException">The tree is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvMultiTree OpenMultiTree(this ReadTransaction tx, string name) =>
        tx.TryOpenMultiTree(name, out var tree) ? tree : throw new KeyNotFoundException($"No tree named '{name}' exists.");

    /// <summary>Opens the named multimap tree if it exists.</summary>
    /// <exception cref="InvalidOperationException">The tree exists and is a plain tree.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenMultiTree(this ReadTransaction tx, string name, [NotNullWhen(true)] out KvMultiTree? tree) =>
        TryOpen(tx.Handle, name, out tree);

    private static bool TryOpen((KvTransaction State, long Generation) handle, string name, [NotNullWhen(true)] out KvMultiTree? tree)
    {
        var found = handle.State.FindTree(handle.Generation, name, multimap: true);
        tree = found is null ? null : new KvMultiTree(handle.State, found, handle.Generation);
        return tree is not null;
    }

    /// <summary>Whether the named tree exists and is a multimap tree (false for a plain tree or no tree).</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool IsMultiTree(this WriteTransaction tx, string name) => IsMulti(tx.Handle, name);

    /// <inheritdoc cref="IsMultiTree(WriteTransaction, string)"/>
    public static bool IsMultiTree(this ReadTransaction tx, string name) => IsMulti(tx.Handle, name);

    private static bool IsMulti((KvTransaction State, long Generation) handle, string name) =>
        handle.State.FindTree(handle.Generation, name, multimap: null) is { Desc.IsMultimap: true };
}
